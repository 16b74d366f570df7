package store_test

import (
	"testing"

	"github.com/srmhq/srm/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestSmoke(t *testing.T) {
	st := storetest.New(t)
	cs, err := st.Controls(t.Context())
	t.Log(len(cs), err)
}
