package graph

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// maxValidationErrors is where validation stops, as graphql-js does at 100: a
// document built to fail every rule many times over gets a short answer, cheaply.
const maxValidationErrors = 100

// Bounds of the document cache: parsed documents are reused, since clients send the
// same few again and again, but their number and size are chosen by clients.
const (
	documentCacheEntries = 1000
	documentCacheBytes   = 16 << 20
	// astBytesPerSourceByte bounds a parsed, validated document's memory by its text:
	// measured at 10 to 30 for clients' documents, and 108 for the densest a document
	// can be, a list of one-digit numbers.
	astBytesPerSourceByte = 128
)

// documents turns a request's text into a document ready to execute: parsed up to
// the token limit, measured against the shape limits, then validated, each step
// refusing before the next one spends anything. Every step is linear in the size
// of the document, whatever the document does, and validated documents are cached.
type documents struct {
	schema *ast.Schema
	limits Limits
	rules  []validator.Rule
	cache  *sizedLRU[*document]
	plans  bool // compile plans (plans.go) for the cached documents
	// es computes the complexity of the cached documents' operations that no
	// variable can change (complexityLimit); nil: none.
	es graphql.ExecutableSchema
}

// document is a cached, validated document with the plans of its operations and
// the complexity of those whose complexity no variable can change.
type document struct {
	doc        *ast.QueryDocument
	plans      map[*ast.OperationDefinition]*plan
	complexity map[*ast.OperationDefinition]int
}

func newDocuments(schema *ast.Schema, limits Limits) *documents {
	var list []validator.Rule
	for name, f := range rules.NewDefaultRules().GetInner() {
		list = append(list, validator.Rule{Name: name, RuleFunc: f})
	}
	// In name order, as gqlparser runs them, so that errors come in a stable order.
	slices.SortFunc(list, func(a, b validator.Rule) int { return strings.Compare(a.Name, b.Name) })
	return &documents{schema: schema, limits: limits, rules: list,
		cache: newSizedLRU(documentCacheEntries, documentCacheBytes, func(query string, _ *document) int {
			return len(query) * (1 + astBytesPerSourceByte)
		})}
}

// prepare returns the validated document of query with its plans, or the errors
// that refuse it.
func (d *documents) prepare(query string) (*document, gqlerror.List) {
	if cached, ok := d.cache.get(query); ok {
		return cached, nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, d.limits.MaxTokens)
	if err != nil {
		var gqlErr *gqlerror.Error
		if !errors.As(err, &gqlErr) {
			gqlErr = gqlerror.Wrap(err)
		}
		errcode.Set(gqlErr, errcode.ParseFailed)
		return nil, gqlerror.List{gqlErr}
	}
	if len(doc.Operations) == 0 {
		err := gqlerror.Errorf("no operation provided")
		errcode.Set(err, errcode.ValidationFailed)
		return nil, gqlerror.List{err}
	}
	if err := d.limits.checkShape(doc); err != nil {
		return nil, gqlerror.List{err}
	}
	if errs := d.validate(doc); len(errs) > 0 {
		for _, e := range errs {
			errcode.Set(e, errcode.ValidationFailed)
		}
		return nil, errs
	}
	cached := &document{doc: doc}
	if d.plans {
		cached.plans = compilePlans(doc)
	}
	if d.es != nil {
		cached.complexity = fixedComplexities(d.es, doc)
	}
	d.cache.add(query, cached)
	return cached, nil
}

// errValidationStopped ends a validation walk once it has found enough errors.
var errValidationStopped = errors.New("validation stopped")

// validate runs the validation rules over doc, as gqlparser's ValidateWithRules
// does, but stops the walk at maxValidationErrors: some rules report every pair of
// conflicting fields, quadratic in a document's size.
func (d *documents) validate(doc *ast.QueryDocument) (errs gqlerror.List) {
	events := &validator.Events{}
	for _, rule := range d.rules {
		rule.RuleFunc(events, func(options ...validator.ErrorOption) {
			if len(errs) == maxValidationErrors {
				errs = append(errs, gqlerror.Errorf("too many validation errors: stopped after %d", maxValidationErrors))
				panic(errValidationStopped)
			}
			err := &gqlerror.Error{Rule: rule.Name}
			for _, o := range options {
				o(err)
			}
			errs = append(errs, err)
		})
	}
	defer func() {
		if r := recover(); r != nil && r != errValidationStopped {
			panic(r)
		}
	}()
	validator.Walk(d.schema, doc, events)
	return errs
}

// preparedKey carries the document that documents.prepare made for this request
// to gqlgen's executor, whose query cache is preparedDocument.
type preparedKey struct{}

type preparedQuery struct {
	query      string
	doc        *ast.QueryDocument
	complexity map[*ast.OperationDefinition]int
}

// preparedComplexity returns the complexity of op, an operation of the request's
// prepared document, when no variable can change it.
func preparedComplexity(ctx context.Context, op *ast.OperationDefinition) (int, bool) {
	p, _ := ctx.Value(preparedKey{}).(preparedQuery)
	cost, ok := p.complexity[op]
	return cost, ok
}

// preparedDocument is the query cache of gqlgen's executor: it always holds the
// request's own document, prepared before the executor runs, so that the executor
// neither parses nor validates anything itself.
type preparedDocument struct{}

// Get returns the document prepared for query in this request.
func (preparedDocument) Get(ctx context.Context, query string) (*ast.QueryDocument, bool) {
	p, ok := ctx.Value(preparedKey{}).(preparedQuery)
	if !ok || p.query != query {
		return nil, false
	}
	return p.doc, true
}

// Add keeps nothing: documents caches the prepared documents itself.
func (preparedDocument) Add(context.Context, string, *ast.QueryDocument) {}
