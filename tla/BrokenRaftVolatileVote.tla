----------------------- MODULE BrokenRaftVolatileVote -----------------------
(***************************************************************************)
(* Raft's election with term and vote kept only in memory: the Rust        *)
(* variant `volatile-vote` (and the reference's Raft, which persists       *)
(* nothing). The .cfg swaps RaftElection's Restart for RestartForgetting.  *)
(*                                                                         *)
(* Expected: TLC reports ElectionSafety violated. A server votes for one   *)
(* candidate, which wins the term; the server restarts with no memory of   *)
(* its vote (or of the term) and votes for a second candidate of the same  *)
(* term, which wins it too: two leaders in one term.                       *)
(***************************************************************************)
EXTENDS RaftElection

RestartForgetting(s) ==
    /\ currentTerm' = [currentTerm EXCEPT ![s] = 0]
    /\ votedFor' = [votedFor EXCEPT ![s] = Nobody]
    /\ role' = [role EXCEPT ![s] = "follower"]
    /\ votes' = [votes EXCEPT ![s] = {}]
    /\ UNCHANGED <<msgs, elected>>
=============================================================================
