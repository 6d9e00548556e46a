package totem

import (
	"fmt"
	"time"
)

// tokenWarningPercent is corosync's token_warning default: when no token
// came for this share of the token timeout, totemsrp logs "Token has not
// been received in X ms" and repeats it each time the same span passes
// again, until the token comes or the token timer is cancelled
// (reset_token_warning, timer_function_orf_token_warning).
const tokenWarningPercent = 75

// armTokenWarning follows every arming of the token timer, as corosync's
// reset_token_timeout re-arms the warning with it.
func (r *Ring) armTokenWarning() {
	r.deadline[timerTokenWarning] = r.now.Add(r.tokenWarningSpan())
}

func (r *Ring) tokenWarningSpan() time.Duration {
	return r.tm.Token * tokenWarningPercent / 100
}

// tokenWarningExpired reports how long ago the last token came and waits
// another span.
func (r *Ring) tokenWarningExpired() {
	r.event(EventTokenWarning, fmt.Sprintf("Token has not been received in %d ms", r.now.Sub(r.lastTokenRx).Milliseconds()), nil)
	r.deadline[timerTokenWarning] = r.now.Add(r.tokenWarningSpan())
}
