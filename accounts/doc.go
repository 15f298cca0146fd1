// Package accounts owns who may use trainyard: users with a role (admin,
// member, viewer) and a bcrypt password hash, API tokens and login sessions
// (both stored as SHA-256 of a random secret), in the database.
//
// It imports nothing of the project; server and main import it. It knows
// nothing of HTTP: cookies, headers and CSRF checks live in server.
package accounts
