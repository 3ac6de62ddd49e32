// Package models is the centre of the service: domain types (Customer, ObjectID,
// enums), the business rules (defaults, validation, patch semantics), error kinds, and
// the stores that read and write PostgreSQL through GORM. It knows nothing of GraphQL
// or HTTP; the graph package depends on it, never the other way round.
package models
