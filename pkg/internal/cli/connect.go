package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/shoalmesh/shoal/pkg/client"
)

// clientFlags are the flags of every command that calls a gateway's API.
type clientFlags struct {
	gateway   string
	tokenFile string
	caFile    string
}

// gatewayFlag registers --gateway (default $SHOAL_GATEWAY), --token-file
// and --ca-file.
func gatewayFlag(fs *flag.FlagSet) *clientFlags {
	def := os.Getenv("SHOAL_GATEWAY")
	if def == "" {
		def = defaultGateway
	}
	f := &clientFlags{}
	fs.StringVar(&f.gateway, "gateway", def, "URL of the gateway's HTTP API (default from $SHOAL_GATEWAY, else "+defaultGateway+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token for a gateway with --api-token-file (default: the token in $SHOAL_TOKEN)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM certificate(s) to trust for an https:// gateway: its own certificate or the CA that signed it")
	return f
}

// connect returns a client of the gateway the flags name, or the exit code
// of a bad flag.
func connect(e *env, cmd string, f *clientFlags) (*client.Client, int) {
	token, err := f.token()
	if err != nil {
		fmt.Fprintf(e.stderr, "shoal: %s: %v\n", cmd, err)
		return nil, 2
	}
	var hc *http.Client
	if f.caFile != "" {
		if hc, err = trusting(f.caFile); err != nil {
			fmt.Fprintf(e.stderr, "shoal: %s: --ca-file %v\n", cmd, err)
			return nil, 2
		}
	}
	c, err := client.New(f.gateway, hc, client.WithToken(token))
	if err != nil {
		from := "--gateway"
		if f.gateway == os.Getenv("SHOAL_GATEWAY") {
			from = "$SHOAL_GATEWAY"
		}
		fmt.Fprintf(e.stderr, "shoal: %s: %s: %v\n", cmd, from, err)
		return nil, 2
	}
	return c, 0
}

// token is the bearer token from --token-file, else from $SHOAL_TOKEN;
// "" when neither is set.
func (f *clientFlags) token() (string, error) {
	if f.tokenFile == "" {
		t := strings.TrimSpace(os.Getenv("SHOAL_TOKEN"))
		if strings.ContainsAny(t, " \t\r\n") {
			return "", errors.New("$SHOAL_TOKEN holds more than one word; set it to the token alone")
		}
		return t, nil
	}
	b, err := readInput(f.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file %v", err)
	}
	return parseTokenFile(f.tokenFile, string(b))
}

// parseTokenFile reads a client's token file: the token, alone on its
// line; blank lines and lines starting with # are skipped.
func parseTokenFile(path, text string) (string, error) {
	var token string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case token != "":
			return "", fmt.Errorf("--token-file %s holds more than one token; keep only yours in it", path)
		case strings.ContainsAny(line, " \t"):
			return "", fmt.Errorf("--token-file %s: the line holds more than a token (is it the gateway's NAME TOKEN file?); put the token alone in the file", path)
		}
		token = line
	}
	if token == "" {
		return "", fmt.Errorf("--token-file %s holds no token", path)
	}
	return token, nil
}

// trusting returns an HTTP client that trusts the certificates in the PEM
// file caFile (and no others).
func trusting(caFile string) (*http.Client, error) {
	b, err := readInput(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}
