package awssim

// This file holds the Auto Scaling service: groups, the reconciliation that
// keeps each group at its desired capacity, tags, and the Query API
// (namespace 2011-01-01). Instance refresh lives in refresh.go.

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const asgNamespace = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// asgLaunchRetry is how long a group waits before trying again after a
// launch failed (an image gone, a template version deleted).
const asgLaunchRetry = time.Minute

func init() {
	registerQuery("autoscaling", "2011-01-01", asgNamespace, false, map[string]queryHandler{
		"CreateAutoScalingGroup":       (*Sim).asgCreateGroup,
		"DescribeAutoScalingGroups":    (*Sim).asgDescribeGroups,
		"UpdateAutoScalingGroup":       (*Sim).asgUpdateGroup,
		"DeleteAutoScalingGroup":       (*Sim).asgDeleteGroup,
		"CreateOrUpdateTags":           (*Sim).asgCreateOrUpdateTags,
		"DeleteTags":                   (*Sim).asgDeleteTags,
		"DescribeTags":                 (*Sim).asgDescribeTags,
		"DescribeAutoScalingInstances": (*Sim).asgDescribeInstances,
		"StartInstanceRefresh":         (*Sim).asgStartInstanceRefresh,
		"DescribeInstanceRefreshes":    (*Sim).asgDescribeInstanceRefreshes,
		"CancelInstanceRefresh":        (*Sim).asgCancelInstanceRefresh,
	})
	registerStore("autoscaling", func(s *Sim) {
		s.asg = asgStore{groups: map[string]*asGroup{}, byInstance: map[string]*asGroup{}, dirty: map[*asGroup]bool{}}
	}, asgStateView)
}

// asgStore holds the Auto Scaling groups.
type asgStore struct {
	groups     map[string]*asGroup
	byInstance map[string]*asGroup // instance id → the group it belongs to
	// hooked records that the instance hook is installed. It is installed
	// when the first group is created rather than in the store's init,
	// because the EC2 store may be initialised after this one and would
	// drop it.
	hooked bool
	busy   bool              // a group is being settled
	dirty  map[*asGroup]bool // groups touched while busy
}

// asgLTRef names a launch template version as Auto Scaling does. In a
// group's configuration Version is what the caller gave ($Default when
// omitted); on an instance it is the number that was resolved at launch.
type asgLTRef struct{ ID, Name, Version string }

// asgSpec is what a group launches from: exactly one of LT, Mixed or
// LCName is set.
type asgSpec struct {
	LT     *asgLTRef
	Mixed  *asgMixed
	LCName string
}

// asgMixed is the part of a MixedInstancesPolicy the simulator uses: the
// launch template and the instance-type overrides (the first one wins).
type asgMixed struct {
	LT        asgLTRef
	Overrides []string
}

// ref returns the launch template a spec launches from (nil for a launch
// configuration).
func (sp asgSpec) ref() *asgLTRef {
	switch {
	case sp.LT != nil:
		return sp.LT
	case sp.Mixed != nil:
		return &sp.Mixed.LT
	}
	return nil
}

func (sp asgSpec) clone() asgSpec {
	out := asgSpec{LCName: sp.LCName}
	if sp.LT != nil {
		x := *sp.LT
		out.LT = &x
	}
	if sp.Mixed != nil {
		x := *sp.Mixed
		x.Overrides = append([]string(nil), sp.Mixed.Overrides...)
		out.Mixed = &x
	}
	return out
}

type asgTag struct {
	Key, Value string
	Propagate  bool
}

// asGroup is one Auto Scaling group.
type asGroup struct {
	Name, ARN          string
	spec               asgSpec
	Min, Max, Desired  int
	Subnets            []string
	Tags               map[string]asgTag
	Created            time.Time
	members            []*asgMember     // launch order
	refreshes          []*asgRefresh    // oldest first
	deleting, deleted  bool             // ForceDelete in progress; gone
	launchErr          string           // last launch failure, for the state view
	retryPending       bool             // a launch retry is scheduled
	surplus            int              // extra capacity a launch-first refresh batch holds
	launchedFor        func(*asgMember) // set by a refresh batch to collect its new instances
	launchSpecOverride *asgSpec         // the spec a refresh launches from, nil for the group's
}

// asgMember is an instance in a group.
type asgMember struct {
	in          *instance
	lt          asgLTRef // resolved at launch (numeric version); empty for LC groups
	unhealthy   bool
	terminating bool // the group (or someone) is terminating it
}

func (m *asgMember) lifecycle() string {
	switch {
	case m.in.State == "terminated":
		return "Terminated"
	case m.terminating || m.in.State == "shutting-down":
		return "Terminating"
	case m.in.State == "pending":
		return "Pending"
	}
	return "InService"
}

func (m *asgMember) health() string {
	switch m.in.State {
	case "pending", "running":
		if !m.unhealthy {
			return "Healthy"
		}
	}
	return "Unhealthy"
}

// active reports whether the member counts toward the group's capacity.
func (m *asgMember) active() bool {
	return !m.terminating && (m.in.State == "pending" || m.in.State == "running")
}

func (g *asGroup) tagMap() map[string]string {
	out := make(map[string]string, len(g.Tags))
	for k, t := range g.Tags {
		out[k] = t.Value
	}
	return out
}

func (g *asGroup) sortedTags() []asgTag {
	out := make([]asgTag, 0, len(g.Tags))
	for _, t := range g.Tags {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// activeRefresh returns the group's unfinished instance refresh, or nil.
func (g *asGroup) activeRefresh() *asgRefresh {
	for _, r := range g.refreshes {
		if !r.finished() {
			return r
		}
	}
	return nil
}

func (s *Sim) asgUUID() string {
	s.seq++
	x := s.seq * 0x9E3779B97F4A7C15
	return fmt.Sprintf("%08x-%04x-4%03x-%x%03x-%012x", uint32(x>>32), uint16(x>>16), x&0xfff, 8+(x>>62), (x>>20)&0xfff, s.seq&0xffffffffffff)
}

func (s *Sim) asgGroupARN(name string) string {
	return s.arn("autoscaling", "autoScalingGroup:"+s.asgUUID()+":autoScalingGroupName/"+name)
}

func (s *Sim) asgGroup(name string) (*asGroup, error) {
	g, ok := s.asg.groups[name]
	if !ok || g.deleted {
		return nil, errorf("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return g, nil
}

// asgNamedGroup finds the group AutoScalingGroupName names.
func (s *Sim) asgNamedGroup(p params) (*asGroup, error) {
	name, err := p.required("AutoScalingGroupName", false)
	if err != nil {
		return nil, err
	}
	return s.asgGroup(name)
}

// asgGroupToChange is asgNamedGroup for the calls that change a group,
// which one being deleted refuses.
func (s *Sim) asgGroupToChange(p params) (*asGroup, error) {
	g, err := s.asgNamedGroup(p)
	if err == nil && g.deleting {
		err = errorf("ValidationError", "AutoScalingGroup %s is pending delete", g.Name)
	}
	return g, err
}

// resource is the group as the authorizer sees it.
func (g *asGroup) resource() Resource { return Resource{ARN: g.ARN, Tags: g.tagMap()} }

// asgValidation turns a parameter error into Auto Scaling's
// ValidationError, keeping its message.
func asgValidation(err error) error { return errorf("ValidationError", "%s", asAPIError(err).Message) }

// asgInstallHook makes the group hear about every instance change.
func (s *Sim) asgInstallHook() {
	if s.asg.hooked {
		return
	}
	s.asg.hooked = true
	s.ec2.instanceHooks = append(s.ec2.instanceHooks, func(in *instance) {
		if g := s.asg.byInstance[in.ID]; g != nil {
			s.asgSettle(g)
		}
	})
}

// ---- reconciliation -------------------------------------------------------

// asgSettle brings a group to its desired capacity and moves its instance
// refresh along, until nothing changes. It runs after every mutating call,
// from the instance hook and from refresh timers; changes it causes itself
// (a termination firing the hook) are folded into the same pass.
func (s *Sim) asgSettle(g *asGroup) {
	if s.asg.busy {
		s.asg.dirty[g] = true
		return
	}
	s.asg.busy = true
	defer func() { s.asg.busy = false }()
	queue := []*asGroup{g}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		for range 20 {
			delete(s.asg.dirty, g)
			s.asgReconcile(g)
			changed := s.refreshStep(g)
			if !changed && !s.asg.dirty[g] {
				break
			}
		}
		delete(s.asg.dirty, g)
		for other := range s.asg.dirty {
			delete(s.asg.dirty, other)
			queue = append(queue, other)
		}
	}
}

// asgDo runs fn with nested settles held off (the terminations fn causes
// fire the instance hook), then settles g once.
func (s *Sim) asgDo(g *asGroup, fn func()) {
	if s.asg.busy {
		fn()
		s.asg.dirty[g] = true
		return
	}
	s.asg.busy = true
	fn()
	s.asg.busy = false
	s.asgSettle(g)
}

// asgReconcile drops terminated members, replaces unhealthy ones, and
// launches or terminates instances to reach desired capacity (plus the
// surplus a launch-first refresh batch holds).
func (s *Sim) asgReconcile(g *asGroup) {
	if g.deleted {
		return
	}
	kept := g.members[:0]
	for _, m := range g.members {
		if m.in.State == "terminated" {
			delete(s.asg.byInstance, m.in.ID)
			continue
		}
		kept = append(kept, m)
	}
	g.members = kept
	for _, m := range g.members {
		if m.terminating {
			continue
		}
		switch m.in.State {
		case "shutting-down":
			m.terminating = true // terminated by someone else
		case "stopping", "stopped":
			m.unhealthy, m.terminating = true, true
			s.terminateInstance(m.in, "Server.ScheduledStop: the instance failed an EC2 health check (stopped) and Auto Scaling replaced it")
		}
	}
	if g.deleting {
		for _, m := range g.members {
			if !m.terminating {
				m.terminating = true
				s.terminateInstance(m.in, "User initiated: the Auto Scaling group is being deleted")
			}
		}
		if len(g.members) == 0 {
			g.deleted = true
			delete(s.asg.groups, g.Name)
		}
		return
	}
	active := 0
	for _, m := range g.members {
		if m.active() {
			active++
		}
	}
	target := g.Desired + g.surplus
	for ; active < target; active++ {
		if err := s.asgLaunch(g); err != nil {
			g.launchErr = err.Error()
			s.refreshLaunchFailed(g, err)
			if !g.retryPending {
				g.retryPending = true
				s.after(asgLaunchRetry, func() {
					s.asgDo(g, func() { g.retryPending = false })
				})
			}
			break
		}
		g.launchErr = ""
	}
	for ; active > target; active-- {
		m := s.asgScaleInVictim(g)
		if m == nil {
			break
		}
		m.terminating = true
		s.terminateInstance(m.in, "User initiated: Auto Scaling scale-in")
	}
}

// launchSpec is the configuration new instances use: a running
// refresh's (desired, or previous while rolling back), else the group's.
func (g *asGroup) launchSpec() asgSpec {
	if g.launchSpecOverride != nil {
		return *g.launchSpecOverride
	}
	return g.spec
}

// launchTemplateChecks makes the checks Auto Scaling makes of the caller
// when a call gives a group a launch template (CreateAutoScalingGroup and
// UpdateAutoScalingGroup with LaunchTemplate or MixedInstancesPolicy) or
// starts an instance refresh ("Amazon EC2 Auto Scaling API permissions",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html,
// and "Control Amazon EC2 launch template usage in Auto Scaling groups",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html):
// ec2:RunInstances on what the template version launches, ec2:CreateTags
// (ec2:CreateAction RunInstances) when it has tag specifications, and
// iam:PassRole of the role inside its instance profile (see
// authorizeAs). A denial is Auto Scaling's AccessDenied "You are not
// authorized to use launch template:" (the troubleshooting page
// "Troubleshoot Amazon EC2 Auto Scaling: Launch templates",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-launch-template.html,
// names the error; reports of it from AWS, such as
// https://github.com/aws-samples/ec2-auto-scaling-instance-refresh-sample/issues/7,
// show the message ending at the colon, without the template or the
// permission): the simulator logs which check failed. Nothing is checked
// when sp names no launch template or it cannot be resolved (the call's
// own validation reports that). subnet is the group's first subnet.
func (s *Sim) launchTemplateChecks(r *request, sp *asgSpec, subnet string) error {
	if s.authz == nil || sp == nil {
		return nil
	}
	ref := sp.ref()
	if ref == nil {
		return nil
	}
	lt, v, err := s.asgResolve(*ref)
	if err != nil {
		return nil
	}
	is := s.ltInstanceSpec(lt, v)
	is.SubnetID = subnet
	im, _ := s.imageByID(is.ImageID, false)
	if err := s.authorizeAs(r, "ec2", "RunInstances", s.runInstancesResources(&is, im)...); err != nil {
		s.log.Info("awssim: auto scaling refused the launch template", "action", r.action, "launchTemplate", lt.Name, "accessKeyId", r.accessKeyID, "reason", asAPIError(err).Message)
		return &apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "You are not authorized to use launch template:"}
	}
	return nil
}

// asgResolve finds the launch template and version a reference names.
func (s *Sim) asgResolve(ref asgLTRef) (*launchTemplate, *ltVersion, error) {
	lt, err := s.launchTemplateByRef(ref.ID, ref.Name)
	if err != nil {
		return nil, nil, err
	}
	v, err := lt.version(ref.Version)
	if err != nil {
		return nil, nil, err
	}
	return lt, v, nil
}

// asgLaunch launches one instance into the group's least-populated subnet.
func (s *Sim) asgLaunch(g *asGroup) error {
	sp := g.launchSpec()
	ref := sp.ref()
	if ref == nil {
		return fmt.Errorf("launch configuration %q: the simulator supports launch templates only", sp.LCName)
	}
	lt, v, err := s.asgResolve(*ref)
	if err != nil {
		return err
	}
	spec := s.ltInstanceSpec(lt, v)
	spec.SubnetID = s.asgPickSubnet(g)
	// The simulator's groups do not tag volumes (AWS applies the
	// template's volume tags too).
	spec.VolumeTags = nil
	if sp.Mixed != nil && len(sp.Mixed.Overrides) > 0 {
		spec.InstanceType = sp.Mixed.Overrides[0]
	}
	// Over the template's instance tags: the group's propagated tags, then
	// the tags AWS adds.
	own := tags{}
	for _, t := range g.Tags {
		if t.Propagate {
			own[t.Key] = t.Value
		}
	}
	own["aws:autoscaling:groupName"] = g.Name
	own["aws:ec2launchtemplate:id"] = lt.ID
	own["aws:ec2launchtemplate:version"] = strconv.Itoa(v.Number)
	spec.Tags = spec.Tags.with(own)
	// Auto Scaling launches as its service-linked role; a key it cannot
	// use fails the launch (in AWS the instance is launched and
	// terminates, and the scaling activity fails with
	// "Client.InternalError: Client error on launch"; the simulator's
	// group records the failure and retries, as for any failed launch).
	spec.kmsPrincipal, spec.kmsRefuse = s.asgServiceLinkedRole(), true
	in, err := s.launchInstance(spec)
	if err != nil {
		return err
	}
	m := &asgMember{in: in, lt: asgLTRef{ID: lt.ID, Name: lt.Name, Version: strconv.Itoa(v.Number)}}
	g.members = append(g.members, m)
	s.asg.byInstance[in.ID] = g
	if g.launchedFor != nil {
		g.launchedFor(m)
	}
	return nil
}

// asgPickSubnet returns the group subnet with the fewest active instances
// (the first such subnet on a tie), which keeps the zones balanced.
func (s *Sim) asgPickSubnet(g *asGroup) string {
	count := map[string]int{}
	for _, m := range g.members {
		if m.active() {
			count[m.in.SubnetID]++
		}
	}
	best := ""
	for _, id := range g.Subnets {
		if best == "" || count[id] < count[best] {
			best = id
		}
	}
	return best
}

// asgMatches reports whether a member runs the launch template version a
// spec resolves to now.
func (s *Sim) asgMatches(m *asgMember, sp asgSpec) bool {
	ref := sp.ref()
	if ref == nil {
		return false
	}
	lt, v, err := s.asgResolve(*ref)
	if err != nil {
		return false
	}
	return m.lt.ID == lt.ID && m.lt.Version == strconv.Itoa(v.Number)
}

// asgScaleInVictim picks the instance to terminate on scale-in: first the
// instances not on the group's current launch template version (lowest
// version first), then from the zone with the most instances, then the
// newest.
func (s *Sim) asgScaleInVictim(g *asGroup) *asgMember {
	perAZ := map[string]int{}
	var cands []*asgMember
	for _, m := range g.members {
		if m.active() {
			perAZ[m.in.AZ]++
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	cur := g.launchSpec()
	key := func(m *asgMember) (bool, int) {
		n, _ := strconv.Atoi(m.lt.Version)
		return s.asgMatches(m, cur), n
	}
	sort.SliceStable(cands, func(i, j int) bool {
		mi, vi := key(cands[i])
		mj, vj := key(cands[j])
		if mi != mj {
			return !mi
		}
		if !mi && vi != vj {
			return vi < vj
		}
		if perAZ[cands[i].in.AZ] != perAZ[cands[j].in.AZ] {
			return perAZ[cands[i].in.AZ] > perAZ[cands[j].in.AZ]
		}
		return cands[i].in.LaunchTime.After(cands[j].in.LaunchTime) ||
			(cands[i].in.LaunchTime.Equal(cands[j].in.LaunchTime) && i > j)
	})
	return cands[0]
}

// ---- request parsing ------------------------------------------------------

// asgParseLTRef reads a LaunchTemplateSpecification below name, or nil.
func asgParseLTRef(p params, name string) (*asgLTRef, error) {
	if !p.present(name) {
		return nil, nil
	}
	sp := p.sub(name)
	ref := &asgLTRef{ID: sp.str("LaunchTemplateId"), Name: sp.str("LaunchTemplateName"), Version: sp.str("Version")}
	if (ref.ID == "") == (ref.Name == "") {
		return nil, errorf("ValidationError", "Valid requests must contain either launchTemplateId or launchTemplateName (not both) in %s", name)
	}
	if ref.Version == "" {
		ref.Version = "$Default"
	}
	return ref, nil
}

// asgParseMixed reads a MixedInstancesPolicy below name, or nil.
func asgParseMixed(p params, name string) (*asgMixed, error) {
	if !p.present(name) {
		return nil, nil
	}
	mp := p.sub(name)
	ref, err := asgParseLTRef(mp, "LaunchTemplate.LaunchTemplateSpecification")
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, errorf("ValidationError", "%s.LaunchTemplate.LaunchTemplateSpecification is required", name)
	}
	mx := &asgMixed{LT: *ref}
	for _, o := range mp.structs("LaunchTemplate.Overrides.member") {
		if t := o.str("InstanceType"); t != "" {
			mx.Overrides = append(mx.Overrides, t)
		}
	}
	return mx, nil
}

// asgCheckRef validates a reference against the EC2 model and fills in
// both the id and the name, as DescribeAutoScalingGroups reports them.
func (s *Sim) asgCheckRef(ref *asgLTRef) error {
	lt, _, err := s.asgResolve(*ref)
	if err != nil {
		return errorf("ValidationError", "You must use a valid fully-formed launch template. %s", asAPIError(err).Message)
	}
	ref.ID, ref.Name = lt.ID, lt.Name
	return nil
}

// asgParseSpec reads LaunchTemplate / MixedInstancesPolicy /
// LaunchConfigurationName; ok is false when none is given.
func (s *Sim) asgParseSpec(p params) (sp asgSpec, ok bool, err error) {
	lt, err := asgParseLTRef(p, "LaunchTemplate")
	if err != nil {
		return sp, false, err
	}
	mx, err := asgParseMixed(p, "MixedInstancesPolicy")
	if err != nil {
		return sp, false, err
	}
	lc := p.str("LaunchConfigurationName")
	n := 0
	for _, given := range []bool{lt != nil, mx != nil, lc != ""} {
		if given {
			n++
		}
	}
	if n == 0 {
		return sp, false, nil
	}
	if n > 1 {
		return sp, false, errorf("ValidationError", "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter, not more than one.")
	}
	sp = asgSpec{LT: lt, Mixed: mx, LCName: lc}
	if ref := sp.ref(); ref != nil {
		if err := s.asgCheckRef(ref); err != nil {
			return asgSpec{}, false, err
		}
	}
	return sp, true, nil
}

func asgCheckSizes(min, max, desired int) error {
	if min < 0 || max < 0 {
		return errorf("ValidationError", "MinSize and MaxSize must not be negative")
	}
	if min > max {
		return errorf("ValidationError", "Max bound, %d, must be greater than or equal to min bound, %d", max, min)
	}
	if desired < min || desired > max {
		return errorf("ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, min, max)
	}
	return nil
}

func asgParseTags(p params) ([]asgTag, []string, error) {
	var out []asgTag
	var groups []string
	for _, t := range p.structs("Tags.member") {
		k := t.str("Key")
		if k == "" {
			return nil, nil, errorf("ValidationError", "1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, nil, errorf("ValidationError", "Tag keys starting with 'aws:' are reserved for internal use: %s", k)
		}
		if rt := t.str("ResourceType"); rt != "" && rt != "auto-scaling-group" {
			return nil, nil, errorf("ValidationError", "Invalid resource type %s: only auto-scaling-group is supported", rt)
		}
		prop, _, err := t.boolean("PropagateAtLaunch")
		if err != nil {
			return nil, nil, asgValidation(err)
		}
		out = append(out, asgTag{Key: k, Value: t.str("Value"), Propagate: prop})
		groups = append(groups, t.str("ResourceId"))
	}
	return out, groups, nil
}

// asgParseFilters reads Filters.member.N, refusing a name that allowed
// rejects; list names the allowed types in the error.
func asgParseFilters(p params, list string, allowed func(string) bool) ([]ec2Filter, error) {
	var out []ec2Filter
	for _, f := range p.structs("Filters.member") {
		n := f.str("Name")
		if !allowed(n) {
			return nil, errorf("ValidationError", "Filter type %s is not correct. Allowed Filter types are: %s", n, list)
		}
		out = append(out, ec2Filter{name: n, values: f.list("Values.member")})
	}
	return out, nil
}

// asgWritePage writes the page of items that NextToken and MaxRecords
// (at most max, 50 when not given) select, each with write inside a
// member element, in the set element, then the NextToken of the
// following page.
func asgWritePage[T any](w *xmlWriter, p params, max int, set string, items []T, write func(T)) error {
	limit := 50
	if v, ok, err := p.integer("MaxRecords"); err != nil {
		return asgValidation(err)
	} else if ok {
		if v < 1 || v > max {
			return errorf("ValidationError", "1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and %d", v, max)
		}
		limit = v
	}
	var off uint64
	if tok := p.str("NextToken"); tok != "" {
		var ok bool
		if off, ok = parsePageToken("asg:", tok); !ok {
			return errorf("InvalidNextToken", "The token '%s' is invalid.", tok)
		}
	}
	start, end, next := pageBounds("asg:", len(items), off, limit)
	w.open(set)
	for _, x := range items[start:end] {
		w.open("member")
		write(x)
		w.close("member")
	}
	w.close(set)
	w.elemIf("NextToken", next)
	return nil
}

// ---- handlers ---------------------------------------------------------------

func (s *Sim) asgCreateGroup(r *request, p params, w *xmlWriter) error {
	name, err := p.required("AutoScalingGroupName", false)
	if err != nil {
		return err
	}
	if len(name) > 255 {
		return errorf("ValidationError", "1 validation error detected: Value at 'autoScalingGroupName' failed to satisfy constraint: Member must have length less than or equal to 255")
	}
	if _, err := p.required("MinSize", false); err != nil {
		return err
	}
	if _, err := p.required("MaxSize", false); err != nil {
		return err
	}
	minSize, _, err := p.integer("MinSize")
	if err != nil {
		return err
	}
	maxSize, _, err := p.integer("MaxSize")
	if err != nil {
		return err
	}
	desired, ok, err := p.integer("DesiredCapacity")
	if err != nil {
		return err
	}
	if !ok {
		desired = minSize
	}
	if err := asgCheckSizes(minSize, maxSize, desired); err != nil {
		return err
	}
	if g, ok := s.asg.groups[name]; ok && !g.deleted {
		return errorf("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	spec, ok, err := s.asgParseSpec(p)
	if err != nil {
		return err
	}
	if !ok {
		return errorf("ValidationError", "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	subnets, err := s.asgSubnets(p)
	if err != nil {
		return err
	}
	tagList, _, err := asgParseTags(p)
	if err != nil {
		return err
	}
	g := &asGroup{
		Name: name, ARN: s.asgGroupARN(name), spec: spec, Min: minSize, Max: maxSize, Desired: desired,
		Subnets: subnets, Tags: map[string]asgTag{}, Created: s.clock.now,
	}
	add := map[string]string{}
	for _, t := range tagList {
		g.Tags[t.Key] = t
		add[t.Key] = t.Value
	}
	// The group's tags are the request's: aws:RequestTag and aws:TagKeys
	// (Service Authorization Reference, CreateAutoScalingGroup).
	res := g.resource()
	res.Context = tagContext(add, nil)
	if err := s.authorize(r, res); err != nil {
		return err
	}
	if err := s.launchTemplateChecks(r, &g.spec, firstOf(subnets)); err != nil {
		return err
	}
	s.asgAddGroup(g)
	return nil
}

// asgAddGroup registers a new group and fills it.
func (s *Sim) asgAddGroup(g *asGroup) {
	s.asgInstallHook()
	s.asg.groups[g.Name] = g
	s.asgSettle(g)
}

// asgSubnets reads VPCZoneIdentifier (comma-separated subnets) or, failing
// that, AvailabilityZones (the default subnets of those zones).
func (s *Sim) asgSubnets(p params) ([]string, error) {
	var out []string
	if z := p.str("VPCZoneIdentifier"); z != "" {
		for _, id := range strings.Split(z, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			if s.subnetByID(id) == nil {
				return nil, errorf("ValidationError", "The subnet ID '%s' does not exist", id)
			}
			out = append(out, id)
		}
		return out, nil
	}
	for _, az := range p.list("AvailabilityZones.member") {
		found := false
		for _, sn := range s.ec2.subnets {
			if sn.AZ == az && sn.DefaultForAz {
				out, found = append(out, sn.ID), true
				break
			}
		}
		if !found {
			return nil, errorf("ValidationError", "The availability zone '%s' is not legal or has no default subnet", az)
		}
	}
	if len(out) == 0 {
		return nil, errorf("ValidationError", "At least one Availability Zone or VPC Subnet is required.")
	}
	return out, nil
}

func (s *Sim) asgDescribeGroups(r *request, p params, w *xmlWriter) error {
	names := p.list("AutoScalingGroupNames.member")
	filters, err := asgParseFilters(p, "tag-key tag-value tag:<key>", func(n string) bool {
		return n == "tag-key" || n == "tag-value" || strings.HasPrefix(n, "tag:")
	})
	if err != nil {
		return err
	}
	match := func(g *asGroup) bool {
		if len(names) > 0 && !contains(names, g.Name) {
			return false
		}
		for _, f := range filters {
			ok := false
			for _, t := range g.Tags {
				switch {
				case f.name == "tag-key":
					ok = ok || contains(f.values, t.Key)
				case f.name == "tag-value":
					ok = ok || contains(f.values, t.Value)
				case t.Key == strings.TrimPrefix(f.name, "tag:"):
					ok = ok || contains(f.values, t.Value)
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	var gs []*asGroup
	for _, g := range s.asgSortedGroups() {
		if match(g) {
			gs = append(gs, g)
		}
	}
	withInstances := p.str("IncludeInstances") != "false"
	return asgWritePage(w, p, 100, "AutoScalingGroups", gs, func(g *asGroup) {
		s.asgWriteGroup(w, g, withInstances)
	})
}

// contains reports whether list holds v.
func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Sim) asgSortedGroups() []*asGroup {
	out := make([]*asGroup, 0, len(s.asg.groups))
	for _, g := range s.asg.groups {
		if !g.deleted {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func writeLTRef(w *xmlWriter, tag string, ref asgLTRef) {
	w.open(tag)
	w.elemIf("LaunchTemplateId", ref.ID)
	w.elemIf("LaunchTemplateName", ref.Name)
	w.elemIf("Version", ref.Version)
	w.close(tag)
}

func writeMixed(w *xmlWriter, mx *asgMixed) {
	w.open("MixedInstancesPolicy")
	w.open("LaunchTemplate")
	writeLTRef(w, "LaunchTemplateSpecification", mx.LT)
	w.open("Overrides")
	for _, t := range mx.Overrides {
		w.open("member")
		w.elem("InstanceType", t)
		w.close("member")
	}
	w.close("Overrides")
	w.close("LaunchTemplate")
	w.open("InstancesDistribution")
	w.elem("OnDemandAllocationStrategy", "prioritized")
	w.int("OnDemandBaseCapacity", 0)
	w.int("OnDemandPercentageAboveBaseCapacity", 100)
	w.elem("SpotAllocationStrategy", "lowest-price")
	w.int("SpotInstancePools", 2)
	w.close("InstancesDistribution")
	w.close("MixedInstancesPolicy")
}

func writeSpec(w *xmlWriter, sp asgSpec) {
	switch {
	case sp.LT != nil:
		writeLTRef(w, "LaunchTemplate", *sp.LT)
	case sp.Mixed != nil:
		writeMixed(w, sp.Mixed)
	default:
		w.elemIf("LaunchConfigurationName", sp.LCName)
	}
}

func (s *Sim) asgWriteGroup(w *xmlWriter, g *asGroup, withInstances bool) {
	w.elem("AutoScalingGroupName", g.Name)
	w.elem("AutoScalingGroupARN", g.ARN)
	writeSpec(w, g.spec)
	w.int("MinSize", g.Min)
	w.int("MaxSize", g.Max)
	w.int("DesiredCapacity", g.Desired)
	w.int("DefaultCooldown", 300)
	w.open("AvailabilityZones")
	seen := map[string]bool{}
	for _, id := range g.Subnets {
		if sn := s.subnetByID(id); sn != nil && !seen[sn.AZ] {
			seen[sn.AZ] = true
			w.elem("member", sn.AZ)
		}
	}
	w.close("AvailabilityZones")
	w.raw("<LoadBalancerNames/><TargetGroupARNs/>")
	w.elem("HealthCheckType", "EC2")
	w.int("HealthCheckGracePeriod", 300)
	w.open("Instances")
	if withInstances {
		for _, m := range g.members {
			w.open("member")
			writeMember(w, m, "", m.health())
			w.close("member")
		}
	}
	w.close("Instances")
	w.time("CreatedTime", g.Created)
	w.raw("<SuspendedProcesses/>")
	w.elem("VPCZoneIdentifier", strings.Join(g.Subnets, ","))
	w.raw("<EnabledMetrics/>")
	if g.deleting {
		w.elem("Status", "Delete in progress")
	}
	w.open("Tags")
	for _, t := range g.sortedTags() {
		w.open("member")
		asgWriteTag(w, g.Name, t)
		w.close("member")
	}
	w.close("Tags")
	w.open("TerminationPolicies")
	w.elem("member", "Default")
	w.close("TerminationPolicies")
	w.bool("NewInstancesProtectedFromScaleIn", false)
	w.elem("ServiceLinkedRoleARN", "arn:aws:iam::"+s.opts.AccountID+":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
	w.bool("CapacityRebalance", false)
}

// writeMember writes a group's instance as DescribeAutoScalingGroups
// (group "") and DescribeAutoScalingInstances (the group's name, health
// in capitals) show it.
func writeMember(w *xmlWriter, m *asgMember, group, health string) {
	w.elem("InstanceId", m.in.ID)
	w.elem("InstanceType", m.in.InstanceType)
	w.elemIf("AutoScalingGroupName", group)
	w.elem("AvailabilityZone", m.in.AZ)
	w.elem("LifecycleState", m.lifecycle())
	w.elem("HealthStatus", health)
	if m.lt.ID != "" {
		writeLTRef(w, "LaunchTemplate", m.lt)
	}
	w.bool("ProtectedFromScaleIn", false)
}

func asgWriteTag(w *xmlWriter, group string, t asgTag) {
	w.elem("ResourceId", group)
	w.elem("ResourceType", "auto-scaling-group")
	w.elem("Key", t.Key)
	w.elem("Value", t.Value)
	w.bool("PropagateAtLaunch", t.Propagate)
}

func (s *Sim) asgUpdateGroup(r *request, p params, w *xmlWriter) error {
	g, err := s.asgGroupToChange(p)
	if err != nil {
		return err
	}
	minSize, minOK, err := p.integer("MinSize")
	if err != nil {
		return err
	}
	maxSize, maxOK, err := p.integer("MaxSize")
	if err != nil {
		return err
	}
	desired, desOK, err := p.integer("DesiredCapacity")
	if err != nil {
		return err
	}
	if !minOK {
		minSize = g.Min
	}
	if !maxOK {
		maxSize = g.Max
	}
	if !desOK {
		// A new MaxSize below the desired capacity lowers it (and a new
		// MinSize above raises it), as AWS does implicitly.
		desired = min(max(g.Desired, minSize), maxSize)
	}
	if err := asgCheckSizes(minSize, maxSize, desired); err != nil {
		return err
	}
	spec, specOK, err := s.asgParseSpec(p)
	if err != nil {
		return err
	}
	if specOK && spec.Mixed != nil && g.spec.Mixed != nil && !p.present("MixedInstancesPolicy.LaunchTemplate.Overrides") {
		spec.Mixed.Overrides = g.spec.Mixed.Overrides // partial update keeps the overrides
	}
	var subnets []string
	if p.has("VPCZoneIdentifier") || p.present("AvailabilityZones") {
		if subnets, err = s.asgSubnets(p); err != nil {
			return err
		}
	}
	if err := s.authorize(r, g.resource()); err != nil {
		return err
	}
	if specOK {
		sn := g.Subnets
		if subnets != nil {
			sn = subnets
		}
		if err := s.launchTemplateChecks(r, &spec, firstOf(sn)); err != nil {
			return err
		}
	}
	g.Min, g.Max, g.Desired = minSize, maxSize, desired
	if specOK {
		g.spec = spec
	}
	if subnets != nil {
		g.Subnets = subnets
	}
	s.asgSettle(g)
	return nil
}

func (s *Sim) asgDeleteGroup(r *request, p params, w *xmlWriter) error {
	g, err := s.asgNamedGroup(p)
	if err != nil {
		return err
	}
	force, _, err := p.boolean("ForceDelete")
	if err != nil {
		return err
	}
	if err := s.authorize(r, g.resource()); err != nil {
		return err
	}
	if g.deleting {
		return nil
	}
	if len(g.members) > 0 && !force {
		return errorf("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
	}
	if ar := g.activeRefresh(); ar != nil {
		if !force {
			return errorf("ResourceInUse", "You cannot delete an AutoScalingGroup while an instance refresh is in progress.")
		}
		s.refreshEnd(g, ar, "Cancelled", "The Auto Scaling group was deleted.")
	}
	g.deleting = true
	s.asgSettle(g)
	return nil
}

// asgTagTargets resolves the groups named by Tags.member.N.ResourceId and
// authorizes the call on each.
func (s *Sim) asgTagTargets(r *request, p params) ([]asgTag, []*asGroup, error) {
	tagList, names, err := asgParseTags(p)
	if err != nil {
		return nil, nil, err
	}
	if len(tagList) == 0 {
		return nil, nil, errorf("ValidationError", "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	groups := make([]*asGroup, len(names))
	for i, n := range names {
		if n == "" {
			return nil, nil, errorf("ValidationError", "ResourceId is required for tag %s", tagList[i].Key)
		}
		g, err := s.asgGroup(n)
		if err != nil {
			return nil, nil, err
		}
		groups[i] = g
	}
	for i, g := range groups {
		if i > 0 && contains(names[:i], g.Name) {
			continue
		}
		// The request's tags for this group, as condition keys.
		add, keys := map[string]string{}, []string(nil)
		for j, t := range tagList {
			if groups[j] != g {
				continue
			}
			if r.action == "DeleteTags" {
				keys = append(keys, t.Key)
			} else {
				add[t.Key] = t.Value
			}
		}
		res := g.resource()
		res.Context = tagContext(add, keys)
		if err := s.authorize(r, res); err != nil {
			return nil, nil, err
		}
	}
	return tagList, groups, nil
}

func (s *Sim) asgCreateOrUpdateTags(r *request, p params, w *xmlWriter) error {
	tagList, groups, err := s.asgTagTargets(r, p)
	if err != nil {
		return err
	}
	for i, t := range tagList {
		groups[i].Tags[t.Key] = t
	}
	return nil
}

func (s *Sim) asgDeleteTags(r *request, p params, w *xmlWriter) error {
	tagList, groups, err := s.asgTagTargets(r, p)
	if err != nil {
		return err
	}
	for i, t := range tagList {
		delete(groups[i].Tags, t.Key)
	}
	return nil
}

func (s *Sim) asgDescribeTags(r *request, p params, w *xmlWriter) error {
	filters, err := asgParseFilters(p, "auto-scaling-group key value propagate-at-launch", func(n string) bool {
		switch n {
		case "auto-scaling-group", "key", "value", "propagate-at-launch":
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	type row struct {
		group string
		tag   asgTag
	}
	var rows []row
	for _, g := range s.asgSortedGroups() {
		for _, t := range g.sortedTags() {
			ok := true
			for _, f := range filters {
				var v string
				switch f.name {
				case "auto-scaling-group":
					v = g.Name
				case "key":
					v = t.Key
				case "value":
					v = t.Value
				case "propagate-at-launch":
					v = strconv.FormatBool(t.Propagate)
				}
				ok = ok && contains(f.values, v)
			}
			if ok {
				rows = append(rows, row{g.Name, t})
			}
		}
	}
	return asgWritePage(w, p, 100, "Tags", rows, func(x row) {
		asgWriteTag(w, x.group, x.tag)
	})
}

func (s *Sim) asgDescribeInstances(r *request, p params, w *xmlWriter) error {
	ids := p.list("InstanceIds.member")
	type row struct {
		m     *asgMember
		group string
	}
	var rows []row
	for _, g := range s.asgSortedGroups() {
		for _, m := range g.members {
			if len(ids) == 0 || contains(ids, m.in.ID) {
				rows = append(rows, row{m, g.Name})
			}
		}
	}
	return asgWritePage(w, p, 50, "AutoScalingInstances", rows, func(x row) {
		writeMember(w, x.m, x.group, strings.ToUpper(x.m.health()))
	})
}

// ---- state view ---------------------------------------------------------------

// asgStateView is the Auto Scaling part of GET /_sim/state.
func asgStateView(s *Sim) any {
	type inst struct {
		ID             string `json:"instanceId"`
		LifecycleState string `json:"lifecycleState"`
		HealthStatus   string `json:"healthStatus"`
		LaunchTemplate string `json:"launchTemplate,omitempty"`
		Version        string `json:"version,omitempty"`
	}
	type grp struct {
		Name            string            `json:"name"`
		ARN             string            `json:"arn"`
		LaunchTemplate  *asgLTRef         `json:"launchTemplate,omitempty"`
		Mixed           *asgMixed         `json:"mixedInstancesPolicy,omitempty"`
		LaunchConfig    string            `json:"launchConfigurationName,omitempty"`
		Min             int               `json:"minSize"`
		Max             int               `json:"maxSize"`
		Desired         int               `json:"desiredCapacity"`
		Subnets         []string          `json:"subnets"`
		Tags            map[string]string `json:"tags"`
		Deleting        bool              `json:"deleting,omitempty"`
		LaunchError     string            `json:"launchError,omitempty"`
		Instances       []inst            `json:"instances"`
		InstanceRefresh []map[string]any  `json:"instanceRefreshes"`
	}
	out := []grp{}
	for _, g := range s.asgSortedGroups() {
		x := grp{Name: g.Name, ARN: g.ARN, LaunchTemplate: g.spec.LT, Mixed: g.spec.Mixed, LaunchConfig: g.spec.LCName,
			Min: g.Min, Max: g.Max, Desired: g.Desired, Subnets: g.Subnets, Tags: g.tagMap(),
			Deleting: g.deleting, LaunchError: g.launchErr, Instances: []inst{}, InstanceRefresh: []map[string]any{}}
		for _, m := range g.members {
			x.Instances = append(x.Instances, inst{m.in.ID, m.lifecycle(), m.health(), m.lt.ID, m.lt.Version})
		}
		for i := len(g.refreshes) - 1; i >= 0; i-- {
			x.InstanceRefresh = append(x.InstanceRefresh, g.refreshes[i].view())
		}
		out = append(out, x)
	}
	return map[string]any{"groups": out}
}

// firstOf returns the first of list, or "".
func firstOf(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
