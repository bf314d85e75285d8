// Package golden reads the golden byte-vector files of testdata/: hex
// digits and whitespace, with '#' comments to the end of a line (the
// format docs/PROTOCOL.md describes under "Golden vectors").
package golden

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Parse decodes the text of a golden file.
func Parse(text string) ([]byte, error) {
	var digits strings.Builder
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(digits.String())
}

// ReadHex reads and decodes a golden file; errors name the file.
func ReadHex(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return b, nil
}
