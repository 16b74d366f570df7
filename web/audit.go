package web

import (
	"net/http"

	"github.com/srmhq/srm/store"
)

func auditPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func auditCSV(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
func workloadHistoryPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
}
