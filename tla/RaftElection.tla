---------------------------- MODULE RaftElection ----------------------------
(***************************************************************************)
(* Raft's leader election (Ongaro and Ousterhout, "In Search of an         *)
(* Understandable Consensus Algorithm", 2014, section 5.2), with servers   *)
(* that crash and restart.                                                 *)
(*                                                                         *)
(* A follower or candidate whose election timeout fires starts a new term, *)
(* votes for itself and asks every server for its vote. A server that sees *)
(* a higher term adopts it and forgets its vote of the older term; it      *)
(* grants at most one vote per term, and a candidate with votes from a     *)
(* majority becomes leader. Term and vote are persistent state (Figure 2): *)
(* a server stores them before it answers, which here is one atomic step,  *)
(* and a restart keeps them. BrokenRaftVolatileVote forgets them.          *)
(*                                                                         *)
(* Logs are left out: election safety does not depend on them (the         *)
(* election restriction is about leader completeness, not about the        *)
(* number of leaders). Votes that are refused are not sent; a refusal only *)
(* carries a term, and terms spread through requests here.                 *)
(*                                                                         *)
(* Claimed: ElectionSafety (at most one leader per term, ever: `elected`   *)
(* is a history variable, not protocol state). Termination is not claimed: *)
(* terms are bounded by MaxTerm, and a server can always restart, so no    *)
(* state is final and TLC's deadlock check passes trivially.               *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, TLC

CONSTANTS Servers,  \* three, for majorities of two
          MaxTerm,  \* the model stops starting elections at this term
          Nobody    \* votedFor before a vote is cast in the current term

ASSUME Nobody \notin Servers

VARIABLES currentTerm,  \* currentTerm[s]: persistent
          votedFor,     \* votedFor[s]: persistent; Nobody if s has not voted in its term
          role,         \* role[s]: "follower", "candidate" or "leader"
          votes,        \* votes[s]: the servers that granted s their vote in its term
          msgs,         \* every message sent so far
          elected       \* history: every [term, leader] pair there has been

vars == <<currentTerm, votedFor, role, votes, msgs, elected>>

Terms == 0..MaxTerm

Majority(S) == 2 * Cardinality(S) > Cardinality(Servers)

TypeOK ==
    /\ currentTerm \in [Servers -> Terms]
    /\ votedFor \in [Servers -> Servers \cup {Nobody}]
    /\ role \in [Servers -> {"follower", "candidate", "leader"}]
    /\ votes \in [Servers -> SUBSET Servers]
    /\ msgs \subseteq [type : {"requestVote"}, term : Terms, from : Servers]
                      \cup [type : {"vote"}, term : Terms, from : Servers, to : Servers]
    /\ elected \subseteq [term : Terms, leader : Servers]

Init ==
    /\ currentTerm = [s \in Servers |-> 0]
    /\ votedFor = [s \in Servers |-> Nobody]
    /\ role = [s \in Servers |-> "follower"]
    /\ votes = [s \in Servers |-> {}]
    /\ msgs = {}
    /\ elected = {}

(* s's election timeout fires (Figure 2, "Followers" and "Candidates"). *)
Timeout(s) ==
    /\ role[s] # "leader"
    /\ currentTerm[s] < MaxTerm
    /\ currentTerm' = [currentTerm EXCEPT ![s] = @ + 1]
    /\ votedFor' = [votedFor EXCEPT ![s] = s]
    /\ role' = [role EXCEPT ![s] = "candidate"]
    /\ votes' = [votes EXCEPT ![s] = {s}]
    /\ msgs' = msgs \cup {[type |-> "requestVote", term |-> currentTerm[s] + 1, from |-> s]}
    /\ UNCHANGED elected

(* The vote rule: in my (possibly just adopted) term, I have not voted for *)
(* anyone else.                                                            *)
MayGrant(term, votedForInTerm, candidate, requestTerm) ==
    /\ requestTerm = term
    /\ votedForInTerm \in {Nobody, candidate}

(* s handles c's request for a vote: first any higher term is adopted (and *)
(* s becomes a follower with no vote in it), then the vote rule decides.   *)
HandleRequestVote(s, c, t) ==
    LET newer == t > currentTerm[s]
        term == IF newer THEN t ELSE currentTerm[s]
        voted == IF newer THEN Nobody ELSE votedFor[s]
        grant == MayGrant(term, voted, c, t)
        vote == [type |-> "vote", term |-> t, from |-> s, to |-> c]
    IN  /\ s # c
        /\ [type |-> "requestVote", term |-> t, from |-> c] \in msgs
        /\ newer \/ (grant /\ vote \notin msgs)
        /\ currentTerm' = [currentTerm EXCEPT ![s] = term]
        /\ votedFor' = [votedFor EXCEPT ![s] = IF grant THEN c ELSE voted]
        /\ role' = IF newer THEN [role EXCEPT ![s] = "follower"] ELSE role
        /\ votes' = IF newer THEN [votes EXCEPT ![s] = {}] ELSE votes
        /\ msgs' = IF grant THEN msgs \cup {vote} ELSE msgs
        /\ UNCHANGED elected

(* Candidate s counts a vote of its current term. *)
HandleVote(s, v) ==
    /\ role[s] = "candidate"
    /\ [type |-> "vote", term |-> currentTerm[s], from |-> v, to |-> s] \in msgs
    /\ v \notin votes[s]
    /\ votes' = [votes EXCEPT ![s] = @ \cup {v}]
    /\ UNCHANGED <<currentTerm, votedFor, role, msgs, elected>>

BecomeLeader(s) ==
    /\ role[s] = "candidate"
    /\ Majority(votes[s])
    /\ role' = [role EXCEPT ![s] = "leader"]
    /\ elected' = elected \cup {[term |-> currentTerm[s], leader |-> s]}
    /\ UNCHANGED <<currentTerm, votedFor, votes, msgs>>

(* s crashes and restarts: volatile state is gone, persistent state stays.  *)
Restart(s) ==
    /\ role' = [role EXCEPT ![s] = "follower"]
    /\ votes' = [votes EXCEPT ![s] = {}]
    /\ UNCHANGED <<currentTerm, votedFor, msgs, elected>>

Next ==
    \E s \in Servers :
        \/ Timeout(s)
        \/ \E c \in Servers, t \in 1..MaxTerm : HandleRequestVote(s, c, t)
        \/ \E v \in Servers : HandleVote(s, v)
        \/ BecomeLeader(s)
        \/ Restart(s)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------

(* Section 5.2: at most one leader can be elected in a given term. *)
ElectionSafety ==
    \A e, f \in elected : e.term = f.term => e.leader = f.leader

(* A server votes at most once per term: no two vote messages of one term  *)
(* from the same server to different candidates.                           *)
OneVotePerTerm ==
    \A m, n \in msgs :
        (m.type = "vote" /\ n.type = "vote" /\ m.term = n.term /\ m.from = n.from) => m.to = n.to

(* Servers are interchangeable: TLC checks one state of each class of      *)
(* states that differ only by renaming them.                               *)
Symmetry == Permutations(Servers)
=============================================================================
