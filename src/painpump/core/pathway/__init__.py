"""The therapy pathway of one episode of care as an explicit state machine: referral, test phase,
responder decision, implantation, rehabilitation, maintenance, explant and closure
(`transitions.transition` is the only way from one stage to the next)."""
