-------------------- MODULE BrokenPaxosReplyBeforePersist --------------------
(***************************************************************************)
(* Paxos whose acceptors answer before their state is durable: the Rust    *)
(* variant `reply-before-persist`, the bug BrokenDurableDecision models on *)
(* its own. The .cfg swaps Paxos's Answer for AnswerAtOnce; nothing else   *)
(* changes.                                                                *)
(*                                                                         *)
(* Expected: TLC reports Agreement violated. An acceptor promises ballot 2 *)
(* and crashes before the promise reaches its disk; after the restart it   *)
(* promises ballot 1 and accepts ballot 1's value, which gets chosen; the  *)
(* proposer of ballot 2, counting the forgotten promise, saw no accepted   *)
(* value and gets its own value chosen as well.                            *)
(***************************************************************************)
EXTENDS Paxos

AnswerAtOnce(a, m) ==
    /\ msgs' = msgs \cup {m}
    /\ UNCHANGED outbox
=============================================================================
