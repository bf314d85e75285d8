package main

import "os"

// intervalSignal: Windows has no SIGUSR1, so no --interval-reports.
var intervalSignal os.Signal
