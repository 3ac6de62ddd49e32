// Package scripts holds the tests of the repository's shell scripts.
package scripts

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// machine is a bare machine for scripts/prereqs.sh: a PATH holding only bash and
// fakes of the programs it looks for, an `id` that says who runs it, an apt-get
// that records what it is asked and installs fakes, and a directory standing for
// /usr/lib/postgresql.
type machine struct {
	t                  *testing.T
	bin, pgLib, aptLog string
}

func newMachine(t *testing.T, uid int, apt bool, present ...string) *machine {
	t.Helper()
	dir := t.TempDir()
	m := &machine{t: t, bin: filepath.Join(dir, "bin"), pgLib: filepath.Join(dir, "postgresql"), aptLog: filepath.Join(dir, "apt.log")}
	if err := os.MkdirAll(m.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bash, filepath.Join(m.bin, "bash")); err != nil {
		t.Fatal(err)
	}
	m.script("id", `[ "$1" = -u ] && echo `+strconv.Itoa(uid))
	if apt {
		// apt-get records its arguments, and `install` provides each package's programs.
		m.script("apt-get", `echo "$*" >>`+m.aptLog+`
[ "$1" = install ] || exit 0
for pkg in "$@"; do
	case "$pkg" in
	postgresql) /bin/mkdir -p `+m.pgLib+`/15/bin && for p in initdb pg_ctl pg_isready; do echo '#!/bin/sh' >`+m.pgLib+`/15/bin/$p; done ;;
	postgresql-client) /bin/mkdir -p `+m.pgLib+`/15/bin && echo '#!/bin/sh' >`+m.pgLib+`/15/bin/pg_isready ;;
	nodejs) echo '#!/bin/sh' >`+m.bin+`/node; /bin/chmod +x `+m.bin+`/node ;;
	npm|chromium) echo '#!/bin/sh' >`+m.bin+`/$pkg; /bin/chmod +x `+m.bin+`/$pkg ;;
	esac
done`)
	}
	for p := range strings.SplitSeq(strings.Join(present, " "), " ") {
		switch p {
		case "":
		case "postgresql":
			m.installPostgreSQL()
		default:
			m.script(p, "exit 0")
		}
	}
	return m
}

// script writes an executable shell script named name into the machine's PATH.
func (m *machine) script(name, body string) {
	m.t.Helper()
	if err := os.WriteFile(filepath.Join(m.bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		m.t.Fatal(err)
	}
}

// installPostgreSQL lays out PostgreSQL's server programs as Debian does.
func (m *machine) installPostgreSQL() {
	m.t.Helper()
	dir := filepath.Join(m.pgLib, "15", "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for _, p := range []string{"initdb", "pg_ctl", "pg_isready"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			m.t.Fatal(err)
		}
	}
}

// run runs scripts/prereqs.sh with args on the machine and returns its exit code,
// its messages and the apt-get commands it ran.
func (m *machine) run(env []string, args ...string) (code int, stderr string, apt []string) {
	m.t.Helper()
	script, err := filepath.Abs("prereqs.sh")
	if err != nil {
		m.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(m.bin, "bash"), append([]string{script}, args...)...)
	cmd.Env = append([]string{"PATH=" + m.bin, "POSTGRESQL_LIB=" + m.pgLib, "HOME=" + m.t.TempDir()}, env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		m.t.Fatal(err)
	}
	if b, err := os.ReadFile(m.aptLog); err == nil {
		apt = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return code, out.String(), apt
}

// closedPort is a local TCP port nothing listens on: no PostgreSQL answers there.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestPrereqs checks what scripts/prereqs.sh decides on machines that lack some of
// what `make test` and `make run` need, as root and not, with apt-get and without.
func TestPrereqs(t *testing.T) {
	t.Parallel()
	all := []string{"go postgresql node npm chromium"}
	listening, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listening.Close() })
	openPort := strconv.Itoa(listening.Addr().(*net.TCPAddr).Port)

	for _, c := range []struct {
		name     string
		uid      int
		apt      bool
		present  []string
		env      []string
		args     []string
		wantCode int
		wantApt  []string // the apt-get commands run, in order
		wantSaid []string // in its messages
	}{
		{name: "all present: installs nothing", uid: 0, apt: true, present: all, args: []string{"test"}},
		{name: "all present, not root: nothing to say", uid: 1000, apt: true, present: all, args: []string{"test"}},
		{
			name: "chromium missing as root: installs chromium", uid: 0, apt: true,
			present: []string{"go postgresql node npm"}, args: []string{"test"},
			wantApt: []string{"update -qq", "install -y -qq chromium"},
		},
		{
			name: "PostgreSQL's server programs missing as root: installs postgresql", uid: 0, apt: true,
			present: []string{"go node npm chromium pg_isready"}, args: []string{"test"},
			wantApt: []string{"update -qq", "install -y -qq postgresql"},
		},
		{
			name: "everything but Go missing as root: one install", uid: 0, apt: true,
			present: []string{"go"}, args: []string{"test"},
			wantApt: []string{"update -qq", "install -y -qq postgresql nodejs npm chromium"},
		},
		{
			name: "node missing, not root: the command to run", uid: 1000, apt: true,
			present: []string{"go postgresql npm chromium"}, args: []string{"test"}, wantCode: 1,
			wantSaid: []string{"make test needs", "Node.js and npm", "not running as root", "\n    apt-get update && apt-get install -y nodejs\n"},
		},
		{
			name: "node and chromium missing, not root: one command", uid: 1000, apt: true,
			present: []string{"go postgresql"}, args: []string{"test"}, wantCode: 1,
			wantSaid: []string{"\n    apt-get update && apt-get install -y nodejs npm chromium\n"},
		},
		{
			name: "no apt-get: names what to install", uid: 0, apt: false,
			present: []string{"go node npm"}, args: []string{"test"}, wantCode: 1,
			wantSaid: []string{"PostgreSQL's server programs", "Chromium", "no apt-get here", "Debian's names: postgresql chromium"},
		},
		{
			name: "Go missing as root: the rest installed, Go named", uid: 0, apt: true,
			present: []string{"postgresql node npm"}, args: []string{"test"}, wantCode: 1,
			wantApt:  []string{"update -qq", "install -y -qq chromium"},
			wantSaid: []string{"Go 1.", "or newer", "Go project's downloads"},
		},
		{
			name: "apt-get installs nothing: fails naming it", uid: 0, apt: true,
			present: []string{"go postgresql node npm"}, env: []string{"FAKE_APT_BROKEN=1"}, args: []string{"test"}, wantCode: 1,
			wantApt:  []string{"update -qq", "install -y -qq chromium"},
			wantSaid: []string{"Chromium", "apt-get did not install them"},
		},
		{
			name: "run, no server answers, no server programs: installs postgresql and nothing for the tests", uid: 0, apt: true,
			present: []string{"go"}, env: []string{"PG_DEFAULT_PORT=" + closedPort(t)}, args: []string{"run"},
			wantApt: []string{"update -qq", "install -y -qq postgresql"},
		},
		{
			name: "run, a server answers, client present: installs nothing", uid: 0, apt: true,
			present: []string{"go pg_isready"}, env: []string{"PG_DEFAULT_PORT=" + openPort}, args: []string{"run"},
		},
		{
			name: "run, DATABASE_URL set, no client, not root: the client's package", uid: 1000, apt: true,
			present: []string{"go"}, env: []string{"DATABASE_URL=postgres://db.example/customers", "PG_DEFAULT_PORT=" + closedPort(t)}, args: []string{"run"},
			wantCode: 1, wantSaid: []string{"make run needs", "pg_isready", "\n    apt-get update && apt-get install -y postgresql-client\n"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t, c.uid, c.apt, c.present...)
			if slices.Contains(c.env, "FAKE_APT_BROKEN=1") {
				m.script("apt-get", `echo "$*" >>`+m.aptLog)
			}
			code, said, apt := m.run(c.env, c.args...)
			if code != c.wantCode {
				t.Errorf("exit code %d, want %d; it said:\n%s", code, c.wantCode, said)
			}
			if strings.Join(apt, "\n") != strings.Join(c.wantApt, "\n") {
				t.Errorf("apt-get ran %q, want %q; it said:\n%s", apt, c.wantApt, said)
			}
			for _, s := range c.wantSaid {
				if !strings.Contains(said, s) {
					t.Errorf("its messages lack %q:\n%s", s, said)
				}
			}
			if c.wantCode == 0 && len(c.wantApt) == 0 && strings.TrimSpace(said) != "" {
				t.Errorf("nothing to do, yet it said:\n%s", said)
			}
		})
	}
}
