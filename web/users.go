package web

import (
	"net/http"

	"github.com/srmhq/srm/store"
)

func usersPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func createUser(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func userPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func updateUser(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func revokeUser(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func linkUserOwner(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func saveSettings(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func myControlsPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
