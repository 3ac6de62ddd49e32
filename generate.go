package main

// The GraphQL layer is generated from schema.graphqls and gqlgen.yml by the gqlgen
// version that go.mod pins.
//go:generate go tool gqlgen generate
