package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// ownersPage handles "GET /owners": every owner with their progress.
func ownersPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		os, err := st.OwnerSummaries(r.Context())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.OwnersPage(views.OwnersView{Owners: os, New: srm.Owner{Kind: srm.Team}}))
	}
}

// createOwner handles "POST /owners".
func createOwner(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		o := srm.Owner{Name: strings.TrimSpace(r.PostFormValue("owner_name")), Kind: srm.OwnerKind(r.PostFormValue("owner_kind"))}
		problems := o.Validate()
		if len(problems) == 0 {
			err := st.CreateOwner(r.Context(), &o)
			switch {
			case errors.Is(err, srm.ErrConflict):
				problems["owner_name"] = "There is already an owner with this name."
			case err != nil:
				return err
			}
		}
		if len(problems) > 0 {
			os, err := st.OwnerSummaries(r.Context())
			if err != nil {
				return err
			}
			return render(w, r, http.StatusUnprocessableEntity, views.OwnersPage(views.OwnersView{Owners: os, New: o, Problems: problems}))
		}
		return seeOther(w, r, "/owners")
	}
}

const queuePerPage = 100

// queuePage handles "GET /owners/{id}": the owner's work queue.
func queuePage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		o, err := st.Owner(r.Context(), id)
		if err != nil {
			return err
		}
		page := pageNumber(r.URL.Query().Get("page"))
		items, held, progress, err := st.Queue(r.Context(), id, page, queuePerPage)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.QueuePage(views.QueueView{Owner: o, Items: items, Held: held,
			Progress: progress, Page: page, Pages: max(1, (held+queuePerPage-1)/queuePerPage)}))
	}
}
