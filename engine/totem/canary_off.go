//go:build !quorate_canary

package totem

// canaryDeliverGap is false in every real build. The quorate_canary build
// tag turns it on to produce a deliberately broken engine that delivers
// across sequence gaps, so that a test can prove the simulator's checkers
// catch a broken ordering layer (a checker that never failed proves nothing).
const canaryDeliverGap = false
