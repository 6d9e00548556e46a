//go:build quorate_canary

package totem

// canaryDeliverGap: see canary_off.go. This build is broken on purpose.
const canaryDeliverGap = true
