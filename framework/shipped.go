package framework

import (
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"sync"
)

// The frameworks srm ships, so that a fresh install has them without a
// network: NIST's OSCAL content, public domain (see nist/README.md).
//
//go:embed nist/*.json.gz nist/reading-800-53.txt
var shipped embed.FS

// Builtin is a framework srm ships.
type Builtin struct {
	Slug      string // "nist-800-53-rev5-moderate"
	Name      string // "NIST SP 800-53 rev5 Moderate"
	File      string // the gzip-compressed OSCAL JSON inside the binary
	Source    string // who publishes it, and where
	SourceURL string
	// Profile is where the publisher keeps the OSCAL profile the catalog
	// resolves: what a system security plan answering it imports.
	Profile string
	Licence string
	// ReadingFile is the reading srm applies to it.
	ReadingFile string
}

const (
	nistSource  = "NIST, OSCAL content for SP 800-53 rev5: the baseline as a resolved-profile catalog"
	nistURL     = "https://github.com/usnistgov/oscal-content/tree/main/nist.gov/SP800-53/rev5/json"
	nistLicence = "Public domain (CC0 1.0): a work of the US government, free of copyright in the United States and waived elsewhere"
	nistReading = "nist/reading-800-53.txt"
	nistProfile = "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_"
)

// Builtins lists the frameworks srm ships, from Low to High.
func Builtins() []Builtin {
	b := func(slug, name, level string) Builtin {
		return Builtin{Slug: slug, Name: name, Source: nistSource, SourceURL: nistURL, Licence: nistLicence, ReadingFile: nistReading,
			Profile: nistProfile + level + "-baseline_profile.json",
			File:    "nist/NIST_SP-800-53_rev5_" + level + "-baseline-resolved-profile_catalog-min.json.gz"}
	}
	return []Builtin{
		b("nist-800-53-rev5-low", "NIST SP 800-53 rev5 Low", "LOW"),
		b("nist-800-53-rev5-moderate", "NIST SP 800-53 rev5 Moderate", "MODERATE"),
		b("nist-800-53-rev5-high", "NIST SP 800-53 rev5 High", "HIGH"),
	}
}

// Open returns the framework's OSCAL JSON, decompressed.
func (b Builtin) Open() (io.ReadCloser, error) {
	f, err := shipped.Open(b.File)
	if err != nil {
		return nil, fmt.Errorf("framework %s: %w", b.Slug, err)
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("framework %s: %w", b.Slug, err)
	}
	return readCloser{z, f}, nil
}

type readCloser struct {
	*gzip.Reader
	f io.Closer
}

func (r readCloser) Close() error {
	err := r.Reader.Close()
	if ferr := r.f.Close(); err == nil {
		err = ferr
	}
	return err
}

// Catalog parses the framework.
func (b Builtin) Catalog() (Catalog, error) {
	rc, err := b.Open()
	if err != nil {
		return Catalog{}, err
	}
	defer rc.Close()
	c, err := Parse(rc, 0)
	if err != nil {
		return Catalog{}, fmt.Errorf("framework %s: %w", b.Slug, err)
	}
	return c, nil
}

// Reading returns the reading srm applies to the framework.
func (b Builtin) Reading() (*Reading, error) {
	return shippedReading(b.ReadingFile)
}

var readings sync.Map // file -> func() (*Reading, error)

// shippedReading parses a shipped reading file once. A Reading is not
// changed after parsing, so callers may share it.
func shippedReading(file string) (*Reading, error) {
	f, _ := readings.LoadOrStore(file, sync.OnceValues(func() (*Reading, error) {
		in, err := shipped.Open(file)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		return ParseReading(in, file)
	}))
	return f.(func() (*Reading, error))()
}

// NIST80053Reading is srm's reading of NIST SP 800-53 rev5, which its three
// shipped baselines share.
func NIST80053Reading() (*Reading, error) { return shippedReading(nistReading) }
