--------------------- MODULE BrokenDurableDecisionRestart ---------------------
(***************************************************************************)
(* The teaching trace of BrokenDurableDecision. Its .cfg checks only       *)
(* PromisesKept, so TLC skips past the one-step violation of               *)
(* ResponseImpliesDurable to the consequence that hurts: a node answers a  *)
(* prepare, crashes before its write is durable, restarts, and no longer   *)
(* knows what it promised, so it would promise the same generation again.  *)
(* This is the trace to replay against `reply-before-persist` in the Rust  *)
(* protocols (Paxos, generation voting).                                   *)
(*                                                                         *)
(* Expected: TLC reports PromisesKept violated after three steps:          *)
(* ReceivePrepare, CrashAndRecover, Restart.                               *)
(***************************************************************************)
EXTENDS BrokenDurableDecision
===============================================================================
