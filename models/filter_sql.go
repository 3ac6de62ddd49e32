package models

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
