package nginxtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStartServesStubStatus(t *testing.T) {
	base := Start(t)
	res, err := http.Get(base + "/stub")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(b), "Active connections:") {
		t.Fatalf("stub_status: %d %q", res.StatusCode, b)
	}
}
