package web

import "net/http"

func (a *auth) enrolForm(w http.ResponseWriter, r *http.Request) error   { return errNotBuilt }
func (a *auth) enrol(w http.ResponseWriter, r *http.Request) error       { return errNotBuilt }
func (a *auth) accountPage(w http.ResponseWriter, r *http.Request) error { return errNotBuilt }
func (a *auth) removeMFA(w http.ResponseWriter, r *http.Request) error   { return errNotBuilt }
