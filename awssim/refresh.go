package awssim

// This file holds Auto Scaling instance refresh: StartInstanceRefresh,
// DescribeInstanceRefreshes, CancelInstanceRefresh and the rolling
// replacement that the group's settle pass drives batch by batch.

import (
	"fmt"
	"strconv"
	"time"
)

// asgRefresh is one instance refresh of a group.
type asgRefresh struct {
	ID, Status, StatusReason string
	Start, End               time.Time
	prefs                    asgRefreshPrefs
	desired                  *asgSpec // DesiredConfiguration; nil when none was given
	previous                 asgSpec  // the group's configuration at start: the rollback target

	total, done        int          // instances to replace, replaced (of the current pass)
	queue              []*asgMember // instances still to replace
	batchOld, batchNew []*asgMember // the batch in flight: replaced and replacing instances
	phase              string       // "", "launching", "warming" or "checkpoint"
	launchFirst        bool         // MaxHealthyPercentage > 100: launch before terminating
	failPending        bool         // an injected fault fails the refresh after its first batch
	nextCheckpoint     int          // index into prefs.Checkpoints
	gen                int          // bumps to invalidate pending timers

	rollback                          bool
	rbReason                          string
	rbStart                           time.Time
	rbPercentage, rbInstancesToUpdate int
}

type asgRefreshPrefs struct {
	MinHealthy, MaxHealthy     int
	maxGiven                   bool
	Warmup                     time.Duration
	SkipMatching, AutoRollback bool
	Checkpoints                []int
	CheckpointDelay            time.Duration
	ScaleInProtected, Standby  string
}

func (r *asgRefresh) finished() bool {
	switch r.Status {
	case "Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed":
		return true
	}
	return false
}

func (r *asgRefresh) percent() int {
	if r.total == 0 {
		if r.Status == "Successful" || r.Status == "RollbackSuccessful" {
			return 100
		}
		return 0
	}
	return r.done * 100 / r.total
}

// target is the configuration the refresh moves instances to.
func (r *asgRefresh) target(g *asGroup) asgSpec {
	switch {
	case r.rollback:
		return r.previous
	case r.desired != nil:
		return *r.desired
	}
	return g.spec
}

// batchSize is how many instances one batch replaces: with terminate
// first, the instances that may be out of service while keeping
// MinHealthyPercentage of the desired capacity in service; with launch
// first, the room MaxHealthyPercentage leaves above it. At least 1.
func (r *asgRefresh) batchSize(g *asGroup) int {
	n := g.Desired
	var k int
	if r.launchFirst {
		k = n*r.prefs.MaxHealthy/100 - n
	} else {
		k = n - (n*r.prefs.MinHealthy+99)/100
	}
	return min(max(1, k), len(r.queue))
}

// setOverride points the group's launches at the refresh's configuration.
func (r *asgRefresh) setOverride(g *asGroup) {
	switch {
	case r.finished():
		g.launchSpecOverride = nil
	case r.rollback:
		sp := r.previous
		g.launchSpecOverride = &sp
	default:
		g.launchSpecOverride = r.desired
	}
}

func (s *Sim) refreshEmit(g *asGroup, r *asgRefresh, what string, extra map[string]string) {
	detail := map[string]string{"InstanceRefreshId": r.ID, "AutoScalingGroupName": g.Name}
	for k, v := range extra {
		detail[k] = v
	}
	s.emit("aws.autoscaling", "EC2 Auto Scaling Instance Refresh "+what, []string{g.ARN}, detail)
}

// refreshBegin moves a pending refresh to InProgress and lists the
// instances it will replace.
func (s *Sim) refreshBegin(g *asGroup, r *asgRefresh) {
	if r.Status != "Pending" || g.deleted {
		return
	}
	s.asgDo(g, func() { s.refreshStart(g, r) })
}

func (s *Sim) refreshStart(g *asGroup, r *asgRefresh) {
	r.Status = "InProgress"
	target := r.target(g)
	for _, m := range g.members {
		if m.active() && !(r.prefs.SkipMatching && s.asgMatches(m, target)) {
			r.queue = append(r.queue, m)
		}
	}
	r.total = len(r.queue)
	r.setOverride(g)
	s.refreshEmit(g, r, "Started", nil)
}

// refreshStep moves the group's refresh along; it reports whether it
// changed anything the reconciliation must see.
func (s *Sim) refreshStep(g *asGroup) bool {
	r := g.activeRefresh()
	if r == nil || r.Status == "Pending" {
		return false
	}
	if r.Status == "Cancelling" {
		for _, m := range r.batchNew {
			if m.in.State == "pending" {
				return false
			}
		}
		s.refreshEnd(g, r, "Cancelled", "Instance refresh was cancelled.")
		return true
	}
	switch r.phase {
	case "warming", "checkpoint":
		return false
	case "launching":
		if !s.refreshBatchReady(g, r) {
			return false
		}
		r.phase = "warming"
		if len(r.batchNew) > 0 {
			r.StatusReason = "Waiting for instances to warm up before continuing. For example: " + r.batchNew[0].in.ID + " is warming up."
		}
		gen := r.gen
		s.after(r.prefs.Warmup, func() {
			if r.gen != gen || g.deleted {
				return
			}
			s.asgDo(g, func() {
				r.phase = ""
				s.refreshBatchDone(g, r)
			})
		})
		return false
	}
	kept := r.queue[:0]
	for _, m := range r.queue {
		if m.active() {
			kept = append(kept, m)
		} else {
			r.done++ // gone meanwhile; its replacement uses the new configuration
		}
	}
	r.queue = kept
	if len(r.queue) == 0 {
		s.refreshComplete(g, r)
		return true
	}
	k := r.batchSize(g)
	r.batchOld, r.queue = append([]*asgMember(nil), r.queue[:k]...), r.queue[k:]
	r.batchNew = nil
	r.phase = "launching"
	g.launchedFor = func(m *asgMember) { r.batchNew = append(r.batchNew, m) }
	if r.launchFirst {
		g.surplus += len(r.batchOld)
	} else {
		for _, m := range r.batchOld {
			m.terminating = true
			s.terminateInstance(m.in, "User initiated: replaced by an instance refresh")
		}
	}
	return true
}

// refreshBatchReady reports whether the batch's replacements are all in
// service and the group has launched everything it needs.
func (s *Sim) refreshBatchReady(g *asGroup, r *asgRefresh) bool {
	for _, m := range r.batchNew {
		if m.active() && m.in.State != "running" {
			return false
		}
	}
	active := 0
	for _, m := range g.members {
		if m.active() {
			if m.in.State != "running" {
				return false
			}
			active++
		}
	}
	return active >= g.Desired+g.surplus && g.launchErr == ""
}

// refreshBatchDone runs when a batch's warmup has passed: the old
// instances of a launch-first batch go, progress is counted, and a
// checkpoint or an injected failure may stop the refresh here.
func (s *Sim) refreshBatchDone(g *asGroup, r *asgRefresh) {
	if r.launchFirst {
		for _, m := range r.batchOld {
			if !m.terminating {
				m.terminating = true
				s.terminateInstance(m.in, "User initiated: replaced by an instance refresh")
			}
		}
		g.surplus = max(0, g.surplus-len(r.batchOld))
	}
	r.done += len(r.batchOld)
	failedID := ""
	if len(r.batchNew) > 0 {
		failedID = r.batchNew[0].in.ID
	}
	r.batchOld, r.batchNew, g.launchedFor = nil, nil, nil
	r.StatusReason = ""
	if r.failPending && !r.rollback {
		r.failPending = false
		s.refreshFail(g, r, fmt.Sprintf("Instance refresh failed: replacement instance %s failed its health checks after the warmup period.", failedID))
		return
	}
	pct := r.percent()
	cps := r.prefs.Checkpoints
	if r.rollback || r.nextCheckpoint >= len(cps) || pct < cps[r.nextCheckpoint] {
		return
	}
	cp := cps[r.nextCheckpoint]
	for r.nextCheckpoint < len(cps) && pct >= cps[r.nextCheckpoint] {
		cp = cps[r.nextCheckpoint]
		r.nextCheckpoint++
	}
	delay := r.prefs.CheckpointDelay
	s.refreshEmit(g, r, "Checkpoint Reached", map[string]string{
		"CheckpointPercentage": strconv.Itoa(cp), "CheckpointDelay": strconv.Itoa(int(delay / time.Second)),
	})
	r.phase = "checkpoint"
	r.StatusReason = fmt.Sprintf("Checkpoint %d%% reached; waiting %s before continuing.", cp, delay)
	gen := r.gen
	s.after(delay, func() {
		if r.gen != gen || g.deleted {
			return
		}
		s.asgDo(g, func() { r.phase, r.StatusReason = "", "" })
	})
}

// refreshComplete ends a refresh whose instances are all replaced. A
// forward refresh with a desired configuration makes it the group's.
func (s *Sim) refreshComplete(g *asGroup, r *asgRefresh) {
	if r.rollback {
		s.refreshEnd(g, r, "RollbackSuccessful", "")
		return
	}
	if d := r.desired; d != nil {
		switch {
		case d.Mixed != nil:
			g.spec = d.clone()
		case g.spec.Mixed != nil:
			g.spec.Mixed.LT = *d.LT
		default:
			g.spec = d.clone()
		}
	}
	s.refreshEnd(g, r, "Successful", "")
}

// refreshFail stops a refresh with a reason: with AutoRollback it turns
// into a rollback that replaces the updated instances back, else it ends
// Failed and leaves the instances as they are.
func (s *Sim) refreshFail(g *asGroup, r *asgRefresh, reason string) {
	r.stopBatch(g)
	if !r.prefs.AutoRollback || r.desired == nil || r.rollback {
		s.refreshEnd(g, r, "Failed", reason)
		return
	}
	r.rollback = true
	r.Status, r.StatusReason = "RollbackInProgress", reason
	r.rbReason, r.rbStart = reason, s.clock.now
	r.rbPercentage, r.rbInstancesToUpdate = r.percent(), r.total-r.done
	r.queue = nil
	for _, m := range g.members {
		if m.active() && !s.asgMatches(m, r.previous) {
			r.queue = append(r.queue, m)
		}
	}
	r.total, r.done = len(r.queue), 0
	r.setOverride(g)
	s.refreshEmit(g, r, "Rollback Started", nil)
}

// refreshLaunchFailed is told by the reconciliation that a launch failed:
// a running refresh fails (or its rollback does).
func (s *Sim) refreshLaunchFailed(g *asGroup, err error) {
	r := g.activeRefresh()
	if r == nil {
		return
	}
	reason := "An instance failed to launch: " + asAPIError(err).Message
	switch r.Status {
	case "InProgress":
		s.refreshFail(g, r, reason)
	case "RollbackInProgress":
		s.refreshEnd(g, r, "RollbackFailed", reason)
	}
}

// stopBatch drops the batch in flight (and the surplus it holds) and
// invalidates the refresh's pending timers.
func (r *asgRefresh) stopBatch(g *asGroup) {
	r.gen++
	r.phase, r.batchOld, r.batchNew = "", nil, nil
	g.surplus, g.launchedFor = 0, nil
}

// refreshEnd puts a refresh in a final state and emits its event.
func (s *Sim) refreshEnd(g *asGroup, r *asgRefresh, status, reason string) {
	r.stopBatch(g)
	r.Status, r.End, r.queue = status, s.clock.now, nil
	if reason != "" {
		r.StatusReason = reason
	}
	r.setOverride(g)
	what := map[string]string{
		"Successful": "Succeeded", "Failed": "Failed", "Cancelled": "Cancelled",
		"RollbackSuccessful": "Rollback Succeeded", "RollbackFailed": "Rollback Failed",
	}[status]
	s.refreshEmit(g, r, what, nil)
}

// ---- handlers ---------------------------------------------------------------

func (s *Sim) asgStartInstanceRefresh(r *request, p params, w *xmlWriter) error {
	g, err := s.asgGroupToChange(p)
	if err != nil {
		return err
	}
	if st := p.str("Strategy"); st != "" && st != "Rolling" {
		return errorf("ValidationError", "Strategy %s is not supported by the simulator; use Rolling", st)
	}
	var desired *asgSpec
	if p.present("DesiredConfiguration") {
		dc := p.sub("DesiredConfiguration")
		lt, err := asgParseLTRef(dc, "LaunchTemplate")
		if err != nil {
			return err
		}
		mx, err := asgParseMixed(dc, "MixedInstancesPolicy")
		if err != nil {
			return err
		}
		if lt != nil && mx != nil {
			return errorf("ValidationError", "A DesiredConfiguration can specify a LaunchTemplate or a MixedInstancesPolicy, not both.")
		}
		if lt != nil || mx != nil {
			desired = &asgSpec{LT: lt, Mixed: mx}
			if err := s.asgCheckRef(desired.ref()); err != nil {
				return err
			}
		}
	}
	prefs, err := s.refreshParsePrefs(p.sub("Preferences"))
	if err != nil {
		return err
	}
	if prefs.AutoRollback {
		if desired == nil {
			return errorf("ValidationError", "AutoRollback requires a DesiredConfiguration: without one there is no previous configuration to roll back to.")
		}
		if v := desired.ref().Version; v == "$Latest" || v == "$Default" {
			return errorf("ValidationError", "AutoRollback is not supported when the desired launch template version is %s; specify a version number.", v)
		}
		// "The rollback option is not available if the Auto Scaling group
		// is configured to use the $Latest or $Default launch template
		// version" (EC2 Auto Scaling user guide, "Undo changes with a
		// manual or auto rollback",
		// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html):
		// the group's own version counts, whatever the desired one.
		if ref := g.spec.ref(); ref != nil && (ref.Version == "$Latest" || ref.Version == "$Default") {
			return errorf("ValidationError", "AutoRollback is not supported when the Auto Scaling group uses the launch template version %s; point the group at a version number first.", ref.Version)
		}
	}
	if g.activeRefresh() != nil {
		return errorf("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	if err := s.authorize(r, g.resource()); err != nil {
		return err
	}
	use := desired
	if use == nil {
		use = &g.spec
	}
	if err := s.launchTemplateChecks(r, use, firstOf(g.Subnets)); err != nil {
		return err
	}
	ref := &asgRefresh{
		ID: s.asgUUID(), Status: "Pending", Start: s.clock.now, prefs: prefs,
		desired: desired, previous: g.spec.clone(),
		launchFirst: prefs.maxGiven && prefs.MaxHealthy > 100,
		failPending: s.takeOutcome("autoscaling", "StartInstanceRefresh"),
	}
	g.refreshes = append(g.refreshes, ref)
	s.after(0, func() { s.refreshBegin(g, ref) })
	w.elem("InstanceRefreshId", ref.ID)
	return nil
}

func (s *Sim) refreshParsePrefs(p params) (asgRefreshPrefs, error) {
	pr := asgRefreshPrefs{MinHealthy: 90, MaxHealthy: 100, Warmup: s.dur.RefreshWarmup,
		CheckpointDelay: time.Hour, ScaleInProtected: "Ignore", Standby: "Ignore"}
	num := func(name string, lo, hi int) (int, bool, error) {
		v, ok, err := p.integer(name)
		if err != nil {
			return 0, false, asgValidation(err)
		}
		if ok && (v < lo || v > hi) {
			return 0, false, errorf("ValidationError", "1 validation error detected: Value '%d' at 'preferences.%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(name), lo, hi)
		}
		return v, ok, nil
	}
	if v, ok, err := num("MinHealthyPercentage", 0, 100); err != nil {
		return pr, err
	} else if ok {
		pr.MinHealthy = v
	}
	if v, ok, err := num("MaxHealthyPercentage", 100, 200); err != nil {
		return pr, err
	} else if ok {
		pr.MaxHealthy, pr.maxGiven = v, true
		if v-pr.MinHealthy > 100 {
			return pr, errorf("ValidationError", "The difference between MaxHealthyPercentage (%d) and MinHealthyPercentage (%d) cannot be greater than 100.", v, pr.MinHealthy)
		}
	}
	if v, ok, err := num("InstanceWarmup", 0, 1<<30); err != nil {
		return pr, err
	} else if ok {
		pr.Warmup = time.Duration(v) * time.Second
	}
	if v, ok, err := num("CheckpointDelay", 0, 172800); err != nil {
		return pr, err
	} else if ok {
		pr.CheckpointDelay = time.Duration(v) * time.Second
	}
	var err error
	if pr.SkipMatching, _, err = p.boolean("SkipMatching"); err != nil {
		return pr, asgValidation(err)
	}
	if pr.AutoRollback, _, err = p.boolean("AutoRollback"); err != nil {
		return pr, asgValidation(err)
	}
	last := 0
	for _, c := range p.list("CheckpointPercentages.member") {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > 100 || n <= last {
			return pr, errorf("ValidationError", "CheckpointPercentages must be integers from 1 to 100 in increasing order, got %q", c)
		}
		pr.Checkpoints, last = append(pr.Checkpoints, n), n
	}
	if v := p.str("ScaleInProtectedInstances"); v != "" {
		pr.ScaleInProtected = v
	}
	if v := p.str("StandbyInstances"); v != "" {
		pr.Standby = v
	}
	return pr, nil
}

func (s *Sim) asgDescribeInstanceRefreshes(r *request, p params, w *xmlWriter) error {
	g, err := s.asgNamedGroup(p)
	if err != nil {
		return err
	}
	ids := p.list("InstanceRefreshIds.member")
	var list []*asgRefresh
	for i := len(g.refreshes) - 1; i >= 0; i-- {
		if len(ids) == 0 || contains(ids, g.refreshes[i].ID) {
			list = append(list, g.refreshes[i])
		}
	}
	return asgWritePage(w, p, 100, "InstanceRefreshes", list, func(x *asgRefresh) { x.write(w, g) })
}

func (r *asgRefresh) write(w *xmlWriter, g *asGroup) {
	w.elem("InstanceRefreshId", r.ID)
	w.elem("AutoScalingGroupName", g.Name)
	w.elem("Status", r.Status)
	w.elemIf("StatusReason", r.StatusReason)
	w.time("StartTime", r.Start)
	if !r.End.IsZero() {
		w.time("EndTime", r.End)
	}
	pct, left := r.percent(), r.total-r.done
	w.int("PercentageComplete", pct)
	w.int("InstancesToUpdate", left)
	w.raw("<ProgressDetails><LivePoolProgress>")
	w.int("PercentageComplete", pct)
	w.int("InstancesToUpdate", left)
	w.raw("</LivePoolProgress></ProgressDetails>")
	w.open("Preferences")
	w.int("MinHealthyPercentage", r.prefs.MinHealthy)
	w.int("InstanceWarmup", int(r.prefs.Warmup/time.Second))
	if len(r.prefs.Checkpoints) > 0 {
		w.open("CheckpointPercentages")
		for _, c := range r.prefs.Checkpoints {
			w.int("member", c)
		}
		w.close("CheckpointPercentages")
		w.int("CheckpointDelay", int(r.prefs.CheckpointDelay/time.Second))
	}
	w.bool("SkipMatching", r.prefs.SkipMatching)
	w.bool("AutoRollback", r.prefs.AutoRollback)
	w.elem("ScaleInProtectedInstances", r.prefs.ScaleInProtected)
	w.elem("StandbyInstances", r.prefs.Standby)
	if r.prefs.maxGiven {
		w.int("MaxHealthyPercentage", r.prefs.MaxHealthy)
	}
	w.close("Preferences")
	if r.desired != nil {
		w.open("DesiredConfiguration")
		writeSpec(w, *r.desired)
		w.close("DesiredConfiguration")
	}
	if r.rollback {
		w.open("RollbackDetails")
		w.elem("RollbackReason", r.rbReason)
		w.time("RollbackStartTime", r.rbStart)
		w.int("PercentageCompleteOnRollback", r.rbPercentage)
		w.int("InstancesToUpdateOnRollback", r.rbInstancesToUpdate)
		w.raw("<ProgressDetailsOnRollback><LivePoolProgress>")
		w.int("PercentageComplete", r.rbPercentage)
		w.int("InstancesToUpdate", r.rbInstancesToUpdate)
		w.raw("</LivePoolProgress></ProgressDetailsOnRollback>")
		w.close("RollbackDetails")
	}
	w.elem("Strategy", "Rolling")
}

// view is the refresh as GET /_sim/state shows it.
func (r *asgRefresh) view() map[string]any {
	v := map[string]any{
		"instanceRefreshId": r.ID, "status": r.Status, "statusReason": r.StatusReason,
		"startTime": r.Start, "percentageComplete": r.percent(), "instancesToUpdate": r.total - r.done,
		"minHealthyPercentage": r.prefs.MinHealthy, "skipMatching": r.prefs.SkipMatching,
		"autoRollback": r.prefs.AutoRollback, "phase": r.phase,
	}
	if !r.End.IsZero() {
		v["endTime"] = r.End
	}
	if r.desired != nil {
		v["desiredLaunchTemplate"] = r.desired.ref()
	}
	return v
}

func (s *Sim) asgCancelInstanceRefresh(r *request, p params, w *xmlWriter) error {
	g, err := s.asgNamedGroup(p)
	if err != nil {
		return err
	}
	ref := g.activeRefresh()
	if ref == nil {
		return errorf("ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", g.Name)
	}
	if ref.Status == "RollbackInProgress" {
		return errorf("ValidationError", "Instance refresh %s is rolling back and cannot be cancelled.", ref.ID)
	}
	if err := s.authorize(r, g.resource()); err != nil {
		return err
	}
	if ref.Status != "Cancelling" {
		ref.gen++ // stop a warmup or checkpoint wait
		ref.Status, ref.StatusReason, ref.phase = "Cancelling", "Cancellation requested.", ""
		s.asgSettle(g)
	}
	w.elem("InstanceRefreshId", ref.ID)
	return nil
}
