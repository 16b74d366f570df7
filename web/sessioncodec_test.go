package web

import (
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionsReadBackExactlyWhetherStoredAsJSONOrByGob(t *testing.T) {
	deadline := time.Date(2026, 11, 29, 18, 0, 0, 123, time.UTC)
	values := map[string]any{keyUser: int64(42), keyEmail: "ada@example.com", keyMFA: true, keyStage: "", keySeen: int64(1790000000)}
	for name, codec := range map[string]scs.Codec{"json": sessionCodec{}, "gob, from before": scs.GobCodec{}} {
		b, err := codec.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		gotDeadline, got, err := sessionCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
			t.Errorf("%s: read back %v %#v, want %v %#v", name, gotDeadline, got, deadline, values)
		}
	}
}

func TestASessionRefusesValuesItCannotReadBack(t *testing.T) {
	if _, err := (sessionCodec{}).Encode(time.Now(), map[string]any{"n": 3}); err == nil {
		t.Error("an int (not int64) was stored; it would come back as another type")
	}
	if _, _, err := (sessionCodec{}).Decode([]byte(`{"d":"not a time"}`)); err == nil {
		t.Error("a damaged session was read")
	}
}
