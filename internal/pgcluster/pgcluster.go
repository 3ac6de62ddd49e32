// Package pgcluster runs PostgreSQL servers of a test's own, from the installed
// PostgreSQL programs: a private primary, which the test may stop and start, and
// streaming replicas of it. The machine's own server is never touched. initdb and
// pg_ctl refuse to run as root, so as root they run as the postgres user.
package pgcluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Cluster is one PostgreSQL server in a directory of its own, on a port of its own
// on 127.0.0.1, with trust authentication; it is stopped and removed when the test
// ends.
type Cluster struct {
	t          testing.TB
	bin, dir   string
	Port       int
	runAsOther bool
}

// New initialises a cluster and starts it. Its configuration is initdb's, which
// lets a replica stream from it (wal_level replica, max_wal_senders, a replication
// entry for 127.0.0.1 in pg_hba.conf).
func New(t testing.TB) *Cluster {
	t.Helper()
	c := newCluster(t)
	c.run("initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "--no-sync")
	c.Start()
	return c
}

// Replica copies c with pg_basebackup -R (which makes the copy a standby
// streaming from c) into a cluster of its own and starts it.
func (c *Cluster) Replica(t testing.TB) *Cluster {
	t.Helper()
	r := newCluster(t)
	c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-D", r.dir,
		"-R", "--checkpoint=fast", "--wal-method=stream", "--no-sync")
	r.Start()
	return r
}

// newCluster picks the programs, a directory and a port for a cluster, and stops
// it when the test ends.
func newCluster(t testing.TB) *Cluster {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		t.Fatal("PostgreSQL's programs are not installed (apt-get install postgresql)")
	}
	sort.Strings(dirs)
	c := &Cluster{t: t, bin: filepath.Dir(dirs[len(dirs)-1])}
	if u, _ := osuser.Current(); u != nil && u.Uid == "0" {
		c.runAsOther = true
	}
	base, err := os.MkdirTemp("", "customers-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// The postgres user creates the data directory in it.
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	c.dir = filepath.Join(base, "data")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.dir, "postmaster.pid")); err == nil {
			c.run("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop")
		}
	})
	return c
}

// run runs one of PostgreSQL's programs, as postgres when the test runs as root,
// and fails the test when it fails.
func (c *Cluster) run(prog string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	if c.runAsOther {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, prog)}, args...)...)
	}
	cmd.Dir = "/" // the postgres user may not enter the test's directory
	if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "Is server running?") {
		c.t.Fatalf("%s: %v\n%s", prog, err, out)
	}
}

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.dir, "-w", "-l", filepath.Join(c.dir, "log"),
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", c.Port, c.dir), "start")
}

// Stop stops the cluster, closing its connections (pg_ctl's fast mode).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.dir, "-m", "fast", "-w", "stop")
}

// URL is the address of database db on the cluster, as the postgres superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}
