package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// postTransport serves GraphQL over a POST of JSON, as gqlgen's transport.POST
// does, except that it writes the answer's data as it is: gqlgen and plans both
// write it compact and valid, and encoding/json checking and compacting it again
// took a sixth of the CPU of a page of customers. So <, > and & in the data are
// not escaped for HTML as encoding/json escapes them (the JSON is the same; answers
// carry X-Content-Type-Options: nosniff). Nor does it echo a body it cannot decode
// (withBody refuses those before, in any case).
type postTransport struct{}

const (
	contentTypeJSON            = "application/json"
	contentTypeGraphQLResponse = "application/graphql-response+json"
)

// Supports is transport.POST's test: a POST of application/json, not an upgrade.
func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == "" && mediaType(r.Header.Get("Content-Type")) == contentTypeJSON
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	contentType := responseContentType(r.Header.Get("Accept"))
	w.Header()["Content-Type"] = contentTypeValues[contentType]
	start := graphql.Now()
	body, err := readBody(r)
	if err != nil {
		respond(w, 0, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %v", err)}), false)
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		respond(w, http.StatusBadRequest, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %v", err)}), false)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	oc, errs := exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			// As gqlgen: the GraphQL-over-HTTP draft's status for its own media type.
			status = http.StatusUnprocessableEntity
			if contentType == contentTypeGraphQLResponse {
				status = http.StatusBadRequest
			}
		}
		respond(w, status, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs), false)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	respond(w, 0, responses(ctx), infoFrom(ctx).isPlanned())
}

// contentTypeValues are the Content-Type header values of answers, shared by all
// of them (a header value set this way is replaced, never changed in place).
var contentTypeValues = map[string][]string{
	contentTypeJSON:            {contentTypeJSON},
	contentTypeGraphQLResponse: {contentTypeGraphQLResponse},
}

// readBody returns the body of r, as withBody read it when it did.
func readBody(r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*readBodyBytes); ok {
		return b.bytes, nil
	}
	return io.ReadAll(r.Body)
}

// respond writes r with status (0: 200, or what setStatus chose) and, past what
// net/http holds before it sends the header (chunkingThreshold), its length:
// net/http would otherwise send a page of customers in chunks, and it counts a
// shorter answer itself. The answer is the last to use r's data, so a plan's
// buffer goes back to the pool with the answer's.
func respond(w http.ResponseWriter, status int, r *graphql.Response, planned bool) {
	b := appendResponse(getBuffer(), r)
	if len(b) > chunkingThreshold {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = w.Write(b)
	putBuffer(b)
	if planned {
		putBuffer(r.Data)
	}
}

// chunkingThreshold is net/http's bufferBeforeChunkingSize: an answer that fits
// is sent with a Content-Length net/http counts.
const chunkingThreshold = 2048

// buffers holds the buffers of answers for reuse: a page of customers writes
// 45 KB twice (a plan's data, the answer), which was a third of what W2 allocated.
var buffers sync.Pool

// maxPooledBuffer bounds what the pool keeps: a rare huge answer is not worth
// holding on to.
const maxPooledBuffer = 1 << 20

func getBuffer() []byte {
	if b, ok := buffers.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

func putBuffer(b []byte) {
	if cap(b) > 0 && cap(b) <= maxPooledBuffer {
		buffers.Put(&b)
	}
}

// responseContentType is gqlgen's choice of media type for the Accept header.
func responseContentType(accept string) string {
	if accept == "" {
		return contentTypeJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", contentTypeJSON:
			return contentTypeJSON
		case contentTypeGraphQLResponse:
			return contentTypeGraphQLResponse
		}
	}
	return contentTypeGraphQLResponse
}

// appendResponse appends r as encoding/json writes a graphql.Response, its data
// copied as it is. Most answers have no label, path, hasNext or extensions, and
// are written without encoding/json.
func appendResponse(b []byte, r *graphql.Response) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	var rest []byte
	if r.Label != "" || r.Path != nil || r.HasNext != nil || len(r.Extensions) > 0 {
		var err error
		rest, err = json.Marshal(struct {
			Label      string         `json:"label,omitempty"`
			Path       ast.Path       `json:"path,omitempty"`
			HasNext    *bool          `json:"hasNext,omitempty"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{r.Label, r.Path, r.HasNext, r.Extensions})
		if err != nil {
			panic(err) // as gqlgen's transports: an extension that JSON cannot write is a bug
		}
	}
	b = slices.Grow(b, len(r.Data)+len(rest)+64)
	b = append(b, '{')
	if len(r.Errors) > 0 {
		errs, err := json.Marshal(r.Errors)
		if err != nil {
			panic(err)
		}
		b = append(b, `"errors":`...)
		b = append(b, errs...)
		b = append(b, ',')
	}
	b = append(b, `"data":`...)
	if len(r.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Data...)
	}
	if len(rest) > 2 { // {}: nothing more
		b = append(b, ',')
		b = append(b, rest[1:]...)
	} else {
		b = append(b, '}')
	}
	return b
}
