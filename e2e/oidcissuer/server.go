package oidcissuer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves, for every kind, /<kind>/.well-known/openid-configuration
// and /<kind>/jwks; POST /mint; GET /github-runner/token; and GET /healthz.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, kind := range Kinds {
		mux.HandleFunc("GET /"+string(kind)+"/.well-known/openid-configuration", i.discovery(kind))
		mux.HandleFunc("GET /"+string(kind)+"/jwks", i.jwks)
	}
	mux.HandleFunc("POST /mint", i.mint)
	mux.HandleFunc("GET /github-runner/token", i.runnerToken)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (i *Issuer) discovery(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		iss := i.IssuerURL(kind)
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              iss + "/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public", "pairwise"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"scopes_supported":                      []string{"openid"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"},
		})
	}
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{jwk(&i.key.PublicKey)}})
}

func (i *Issuer) mint(w http.ResponseWriter, r *http.Request) {
	var req MintRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "decoding mint request: "+err.Error(), http.StatusBadRequest)
		return
	}
	tok, err := i.Mint(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	_, _ = io.WriteString(w, tok)
}

// runnerToken emulates the GitHub Actions runner endpoint behind
// ACTIONS_ID_TOKEN_REQUEST_URL. Fault injection comes from query parameters
// that are part of the request URL: fail=<status>, delay=<duration>,
// expired=1 and claims=<base64url JSON overrides>.
func (i *Issuer) runnerToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "bearer") || token == "" || token != i.requestToken {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if d := q.Get("delay"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			http.Error(w, "bad delay: "+err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(dur):
		case <-r.Context().Done():
			return
		}
	}
	if f := q.Get("fail"); f != "" {
		status, err := strconv.Atoi(f)
		if err != nil || status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		http.Error(w, fmt.Sprintf("injected failure %d", status), status)
		return
	}
	req := MintRequest{Kind: GitHub, Audience: q.Get("audience")}
	if q.Get("expired") == "1" {
		ttl := -60
		req.TTLSeconds = &ttl
	}
	if c := q.Get("claims"); c != "" {
		raw, err := b64.DecodeString(strings.TrimRight(c, "="))
		if err == nil {
			err = json.Unmarshal(raw, &req.Claims)
		}
		if err != nil {
			http.Error(w, "bad claims parameter: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	tok, err := i.Mint(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := i.served.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "value": tok})
}
