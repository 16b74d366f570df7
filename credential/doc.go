// Package credential holds what srm checks when someone proves who they
// are, free of storage and HTTP: argon2id password hashes, authenticator
// (TOTP) secrets and codes, recovery codes, and the rules of the sign-in
// lockout. The web server and the command line both use it; what is
// stored, and the counting of failures, belong to the store.
package credential
