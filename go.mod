module arcade

go 1.26.0

require (
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require github.com/cespare/xxhash/v2 v2.3.0
