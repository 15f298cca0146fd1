package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/trainer"
)

func TestPreview(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{})
	code, b, _ := a.do(t, "GET", "/api/preview?source=synthetic&seed=1&mode=dn&n=6", "")
	if code != http.StatusOK {
		t.Fatalf("preview: %d %s", code, b)
	}
	resp := decode[map[string][]trainer.PreviewImage](t, b)
	ims := resp["images"]
	if len(ims) != 6 || len(ims[0].Label) != 4 {
		t.Fatalf("preview images %d", len(ims))
	}
	for _, s := range []string{ims[0].Original, ims[0].Processed} {
		png, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
			t.Fatalf("not a base64 PNG: %v", err)
		}
	}
	for _, q := range []string{"mode=xx", "mode=dn&n=0", "mode=dn&source=dataset", "mode=dn&source=web"} {
		if code, b, _ := a.do(t, "GET", "/api/preview?"+q, ""); code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", q, code, b)
		}
	}
	if code, _, _ := a.do(t, "GET", "/api/preview?mode=dn&source=dataset&dataset_id=9", ""); code != http.StatusNotFound {
		t.Errorf("missing dataset: %d, want 404", code)
	}
	code, b, _ = a.do(t, "GET", "/experiments/new?preset=captcha-model2", "")
	if code != 200 || !strings.Contains(string(b), `id="captcha-fields"`) || !strings.Contains(string(b), `value="captcha" selected`) {
		t.Fatalf("form: %d, CAPTCHA fields missing", code)
	}
}
