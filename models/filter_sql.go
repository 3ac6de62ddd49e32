package models

import "context"

// filterSQL builds a filter of any record type into one SQL condition, or
// ValidationErrors whose fields are relative to the filter argument.
func filterSQL[F any](f *F, build func(*where, string, *F, int)) (string, []any, error) {
	w := &where{}
	if f != nil {
		build(w, "", f, 0)
	}
	if err := w.errs.err(); err != nil {
		return "", nil, WithFieldPrefix(err, "filter")
	}
	return w.sql(), w.args, nil
}

// scopedFilter is filterSQL limited to the rows of the customers the caller may
// see (the table's customer column is customer_id).
func scopedFilter[F any](ctx context.Context, f *F, build func(*where, string, *F, int)) (string, []any, error) {
	cond, args, err := filterSQL(f, build)
	if err != nil {
		return "", nil, err
	}
	sc, scArgs, err := scope(ctx, "customer_id")
	if err != nil {
		return "", nil, err
	}
	return cond + " AND " + sc, append(args, scArgs...), nil
}
