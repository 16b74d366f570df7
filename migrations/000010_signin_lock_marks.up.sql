BEGIN;

-- The failure that locks an account is marked: the lockout lasts five
-- minutes from it, whatever happens meanwhile. Attempts while locked are
-- refused without being counted, so they cannot prolong it, and once it
-- ends the failures before it have left the window too: counting starts
-- afresh. Without the mark the lock was "five failures within the last
-- five minutes", which one wrong guess a minute keeps true for ever.
ALTER TABLE public.signin_failures ADD COLUMN locks boolean NOT NULL DEFAULT false;
CREATE INDEX signin_failures_locks ON public.signin_failures (lower(email), at) WHERE locks;

COMMIT;
