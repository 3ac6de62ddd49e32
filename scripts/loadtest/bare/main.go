// Command bare is the least a Go HTTP service does to answer the load test's W1: a
// customer by id, read with one SELECT of its 13 columns through a pgx pool and
// written with encoding/json by net/http. No GraphQL, no authentication, no logs, no
// metrics, no limits. make loadtest (scripts/loadtest/run.sh) runs it after the API
// and the ceiling of each W1 round: API / bare is the share of this floor that the
// API keeps, a figure the machine's noise moves less than the ceiling.
//
// Settings (environment): DATABASE_URL, LISTEN_ADDR, DB_MAX_CONNS (16).
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
)

// customer has W1's fields in the order W1 selects them, as the API answers.
type customer struct {
	ID                      string  `json:"id"`
	Name                    string  `json:"name"`
	Status                  string  `json:"status"`
	WebsiteURL              *string `json:"websiteUrl"`
	Logo                    *string `json:"logo"`
	Credit                  int32   `json:"credit"`
	CallForwardingCallLimit int32   `json:"callForwardingCallLimit"`
	AutomaticRefillAmount   int32   `json:"automaticRefillAmount"`
	LowBalanceAlertAmount   int32   `json:"lowBalanceAlertAmount"`
	InternationalCalling    bool    `json:"internationalCalling"`
	AccountLock             bool    `json:"accountLock"`
	CallRecording           bool    `json:"callRecording"`
	CDRRetention            int32   `json:"cdrRetention"`
}

func main() {
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cfg.MaxConns = 16
	if n, err := strconv.Atoi(os.Getenv("DB_MAX_CONNS")); err == nil && n > 0 {
		cfg.MaxConns = int32(n)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /query", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Variables struct {
				ID string `json:"id"`
			} `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, err := hex.DecodeString(req.Variables.ID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := customer{ID: req.Variables.ID}
		err = pool.QueryRow(r.Context(), `SELECT name, status, website_url, logo, credit, call_forwarding_call_limit,
			automatic_refill_amount, low_balance_alert_amount, international_calling, account_lock, call_recording,
			cdr_retention FROM customers WHERE id = $1`, id).Scan(&c.Name, &c.Status, &c.WebsiteURL, &c.Logo, &c.Credit,
			&c.CallForwardingCallLimit, &c.AutomaticRefillAmount, &c.LowBalanceAlertAmount, &c.InternationalCalling,
			&c.AccountLock, &c.CallRecording, &c.CDRRetention)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var answer struct {
			Data struct {
				Customer customer `json:"customer"`
			} `json:"data"`
		}
		answer.Data.Customer = c
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	log.Fatal(http.ListenAndServe(os.Getenv("LISTEN_ADDR"), nil))
}
