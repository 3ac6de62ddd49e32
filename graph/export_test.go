package graph

import "time"

// SimulateCostLimit runs requests of cost at perSecond a second for d against a
// bucket of cfg, on a simulated clock, and returns how many are refused.
func SimulateCostLimit(cfg CostLimit, cost, perSecond int, d time.Duration) (refused int) {
	l := newCostLimiter(cfg)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := time.Second / time.Duration(perSecond)
	for at := time.Duration(0); at < d; at += step {
		if _, wait := l.take("caller", float64(cfg.Limit), cfg.RestoreRate, cost, false, start.Add(at)); wait > 0 {
			refused++
		}
	}
	return refused
}
