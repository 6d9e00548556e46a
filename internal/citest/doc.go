// Package citest holds checks of the build files themselves: that CI's
// test runs cannot fail by Go's default 10-minute timeout or by an idle
// machine assumed. It has no code of its own.
package citest
