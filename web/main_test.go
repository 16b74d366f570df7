package web_test

import (
	"testing"

	"github.com/srmhq/srm/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
