package web

import (
	"errors"
	"net/http"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// myControlsPage handles "GET /my": the work queue of the owner the
// signed-in account is linked to, paged like an owner's page, or a word
// on how to get one.
func myControlsPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		o, err := st.OwnerOfUser(ctx, viewer(r).ID)
		if errors.Is(err, srm.ErrNotFound) {
			return render(w, r, http.StatusOK, views.MyControlsPage(views.QueueView{}))
		} else if err != nil {
			return err
		}
		page := pageNumber(r.URL.Query().Get("page"))
		items, held, progress, err := st.Queue(ctx, o.ID, page, queuePerPage)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.MyControlsPage(views.QueueView{Owner: o, Items: items, Held: held,
			Progress: progress, Page: page, Pages: max(1, (held+queuePerPage-1)/queuePerPage)}))
	}
}
