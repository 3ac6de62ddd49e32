package client

// generated.go comes from genqlient.yaml, the operations in *.graphql and the API's
// schema, by the genqlient version that go.mod pins.
//go:generate go tool genqlient genqlient.yaml
