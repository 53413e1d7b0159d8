package awssim

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file holds the EC2 resources and their lifecycles. Every service
// that touches instances or images (Auto Scaling, Systems Manager, Backup)
// goes through these primitives, so that a lifecycle is written once.

// instanceStateCode maps an instance state to the code EC2 reports.
var instanceStateCode = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

type ec2Store struct {
	vpcs            map[string]*vpc
	subnets         []*subnet
	securityGroups  []*securityGroup
	instances       map[string]*instance
	instanceOrder   []*instance // launch order; terminated instances are pruned
	images          map[string]*image
	imageOrder      []*image
	snapshots       map[string]*snapshot
	launchTemplates map[string]*launchTemplate
	ltOrder         []*launchTemplate
	// clientTokens remembers RunInstances calls by ClientToken, for
	// idempotent retries.
	clientTokens map[string]*runRecord
	// instanceHooks run (holding s.mu) after any instance changes state.
	instanceHooks []func(*instance)
}

type vpc struct {
	ID, CIDR  string
	IsDefault bool
}

type subnet struct {
	ID, VpcID, AZ, CIDR string
	DefaultForAz        bool
	next                int // next private address
}

type securityGroup struct {
	ID, Name, Description, VpcID string
}

type tags map[string]string

// sorted returns the tags ordered by key, for stable output.
func (t tags) sorted() []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// with adds add's tags to t and returns t; a nil t is made when there is
// something to add.
func (t tags) with(add tags) tags {
	if t == nil && len(add) > 0 {
		t = make(tags, len(add))
	}
	for k, v := range add {
		t[k] = v
	}
	return t
}

type volume struct {
	ID, Device string
	SizeGiB    int
	Tags       tags // volume tags of a running instance (nil when none)
	// Encrypted and KmsKeyID (the key's ARN) say how EBS encrypts the
	// volume, or an image device's snapshot.
	Encrypted  bool
	KmsKeyID   string
	SnapshotID string // the snapshot a volume was created from
}

// blockDevice is one BlockDeviceMapping of RunInstances or of a launch
// template: what it asks of the volume at Device.
type blockDevice struct {
	Device     string
	Encrypted  *bool
	KmsKeyID   string // as given: key id, key ARN, alias name or alias ARN
	VolumeSize int
}

// runRecord is what a RunInstances call with a ClientToken produced.
type runRecord struct {
	fingerprint   string // the other parameters, to detect a mismatch
	reservationID string
	instanceIDs   []string
}

type instance struct {
	ID, ImageID, InstanceType      string
	SubnetID, VpcID, AZ, PrivateIP string
	SecurityGroupIDs               []string
	InstanceProfileArn, KeyName    string
	HTTPTokens                     string // "required" or "optional"
	Platform                       string // "windows" or ""
	State                          string
	StateReason                    string
	LaunchTime                     time.Time // also starts the consistency window of lookups by id
	Tags                           tags
	Volumes                        []volume
	StatusOK, AgentOnline          bool
	Impaired                       bool // a fault failed its status checks
	Patched                        bool // AWS-RunPatchBaseline installed its patches (or its AMI's)
	ComputerName                   string
	// launchFailure, when set, is the StateReason with which a pending
	// instance terminates instead of running (a KMS key it cannot use).
	launchFailure               string
	gen                         int // bumps on every transition; stale timers check it
	LaunchTemplateID, LTVersion string
	ReservationID, ClientToken  string
	LaunchIndex                 int
	stateTime                   time.Time // when State last changed
	seq                         uint64    // launch order, for pagination tokens
}

func (i *instance) StateCode() int { return instanceStateCode[i.State] }

type image struct {
	ID, Name, Description, OwnerID string
	OwnerAlias                     string // "amazon" for public base images
	Platform                       string
	State                          string // pending, available, failed, deregistered
	StateReason                    string
	Architecture                   string
	Public                         bool
	CreationDate                   time.Time
	Tags                           tags
	SnapshotIDs                    []string
	Devices                        []volume // device → snapshot by index
	SourceInstanceID               string
	DeprecationTime                time.Time // zero: no deprecation scheduled
	Patched                        bool      // made from a patched instance
}

type snapshot struct {
	ID, VolumeID, State, Description string
	SizeGiB                          int
	Encrypted                        bool
	KmsKeyID                         string
	StartTime                        time.Time
	Tags                             tags
	ImageID                          string // the image it was created for
}

type launchTemplate struct {
	ID, Name       string
	CreateTime     time.Time
	CreatedBy      string
	DefaultVersion int
	LatestVersion  int
	Versions       []*ltVersion // index i holds version i+1
	Tags           tags
	// tokens are the ClientTokens of CreateLaunchTemplateVersion calls.
	tokens map[string]ltToken
}

// ltToken is what a CreateLaunchTemplateVersion ClientToken created: the
// version, and the request's other parameters (see runFingerprint).
type ltToken struct {
	fingerprint string
	version     int
}

type ltVersion struct {
	Number      int
	Description string
	CreateTime  time.Time
	Data        ltData
}

// ltData is the part of LaunchTemplateData that the simulator keeps.
type ltData struct {
	ImageID, InstanceType, KeyName, UserData string
	SecurityGroupIDs                         []string
	InstanceProfileArn, InstanceProfileName  string
	HTTPTokens                               string
	TagSpecifications                        []tagSpec
	BlockDevices                             []blockDevice
}

type tagSpec struct {
	ResourceType string
	Tags         tags
}

func init() {
	registerStore("ec2", func(s *Sim) {
		s.ec2 = ec2Store{
			vpcs: map[string]*vpc{}, instances: map[string]*instance{}, images: map[string]*image{},
			snapshots: map[string]*snapshot{}, launchTemplates: map[string]*launchTemplate{},
			clientTokens: map[string]*runRecord{},
		}
	}, ec2StateView)
}

var (
	instanceIDRe = ec2IDPattern("i-")
	imageIDRe    = ec2IDPattern("ami-")
	snapshotIDRe = ec2IDPattern("snap-")
	ltIDRe       = ec2IDPattern("lt-")
)

// ec2IDPattern matches the ids EC2 gives resources of a kind: the prefix
// (with its hyphen), then 8 or 17 lower-case hexadecimal digits; that is,
// the regular expression ^PREFIX([0-9a-f]{8}|[0-9a-f]{17})$. It is checked
// by hand as every lookup by id runs it, and a regexp costs microseconds.
type ec2IDPattern string

// MatchString reports whether id is a well-formed id of the kind.
func (p ec2IDPattern) MatchString(id string) bool {
	digits, ok := strings.CutPrefix(id, string(p))
	if !ok || len(digits) != 8 && len(digits) != 17 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// visible reports whether a resource created at t is past the
// eventual-consistency window for lookups by id.
func (s *Sim) visible(created time.Time) bool {
	d := s.opts.ConsistencyDelay
	return d < 0 || !s.clock.now.Before(created.Add(d))
}

// instanceByID finds an instance, with AWS's malformed/not-found errors.
// fresh=true lets a caller see instances inside the consistency window
// (mutating calls right after RunInstances still fail in AWS, so only
// internal callers pass true).
func (s *Sim) instanceByID(id string, fresh bool) (*instance, error) {
	if !instanceIDRe.MatchString(id) {
		return nil, errorf("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
	}
	in, ok := s.ec2.instances[id]
	if !ok || (!fresh && !s.visible(in.LaunchTime)) {
		return nil, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	return in, nil
}

// imageByID finds an image that is not deregistered.
func (s *Sim) imageByID(id string, fresh bool) (*image, error) {
	if !imageIDRe.MatchString(id) {
		return nil, errorf("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	im, ok := s.ec2.images[id]
	if !ok || im.State == "deregistered" || (!fresh && !s.visible(im.CreationDate)) {
		return nil, errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return im, nil
}

// snapshotByID finds one of the account's snapshots.
func (s *Sim) snapshotByID(id string) (*snapshot, error) {
	if !snapshotIDRe.MatchString(id) {
		return nil, errorf("InvalidSnapshotID.Malformed", "Invalid id: \"%s\" (expecting \"snap-...\")", id)
	}
	sn, ok := s.ec2.snapshots[id]
	if !ok {
		return nil, errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	return sn, nil
}

// instanceSpec is what RunInstances (or an Auto Scaling launch) asks for.
type instanceSpec struct {
	ImageID, InstanceType, SubnetID      string
	SecurityGroupIDs                     []string
	InstanceProfileArn, KeyName          string
	HTTPTokens                           string
	Tags                                 tags
	LaunchTemplateID, LaunchTemplateVers string
	// ReservationID groups the instances of one RunInstances call; empty
	// gives the instance a reservation of its own.
	ReservationID, ClientToken string
	LaunchIndex                int
	VolumeTags                 tags
	BlockDevices               []blockDevice
	// Who has EC2 use the KMS keys of encrypted volumes: the caller's
	// access key and principal (RunInstances), or Auto Scaling's
	// service-linked role (kmsAccessKey empty).
	kmsAccessKey, kmsPrincipal string
	// kmsRefuse makes a KMS denial a launch error rather than an
	// instance that terminates (how the simulator's Auto Scaling sees it).
	kmsRefuse bool
}

// instanceProfileARN is the ARN of the account's instance profile name.
func (s *Sim) instanceProfileARN(name string) string {
	return "arn:aws:iam::" + s.opts.AccountID + ":instance-profile/" + name
}

// ltInstanceSpec is what a launch template version launches (RunInstances
// with LaunchTemplate, an Auto Scaling group): its data, an instance
// profile given by name as its ARN, and the instance and volume tags of
// its tag specifications.
func (s *Sim) ltInstanceSpec(lt *launchTemplate, v *ltVersion) instanceSpec {
	d := v.Data
	sp := instanceSpec{
		ImageID: d.ImageID, InstanceType: d.InstanceType, KeyName: d.KeyName, HTTPTokens: d.HTTPTokens,
		SecurityGroupIDs: append([]string(nil), d.SecurityGroupIDs...), InstanceProfileArn: d.InstanceProfileArn,
		LaunchTemplateID: lt.ID, LaunchTemplateVers: strconv.Itoa(v.Number),
		BlockDevices: append([]blockDevice(nil), d.BlockDevices...),
	}
	if sp.InstanceProfileArn == "" && d.InstanceProfileName != "" {
		sp.InstanceProfileArn = s.instanceProfileARN(d.InstanceProfileName)
	}
	for _, ts := range d.TagSpecifications {
		switch ts.ResourceType {
		case "instance":
			sp.Tags = sp.Tags.with(ts.Tags)
		case "volume":
			sp.VolumeTags = sp.VolumeTags.with(ts.Tags)
		}
	}
	return sp
}

// launchInstance creates one pending instance and schedules its boot:
// running after InstancePending, status checks ok after StatusChecks,
// SSM agent online after AgentOnline. Callers hold s.mu and have validated
// the spec.
func (s *Sim) launchInstance(sp instanceSpec) (*instance, error) {
	im, err := s.imageByID(sp.ImageID, true)
	if err != nil {
		return nil, err
	}
	if im.State != "available" {
		return nil, errorf("InvalidAMIID.Unavailable", "The image '%s' is not available (state %s)", im.ID, im.State)
	}
	sn := s.subnetByID(sp.SubnetID)
	if sn == nil {
		if sp.SubnetID != "" {
			return nil, errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", sp.SubnetID)
		}
		sn = s.ec2.subnets[0]
	}
	sgs := sp.SecurityGroupIDs
	if len(sgs) == 0 {
		sgs = []string{s.defaultSecurityGroup(sn.VpcID).ID}
	}
	for _, id := range sgs {
		if s.securityGroupByID(id) == nil {
			return nil, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	if sp.InstanceType == "" {
		sp.InstanceType = "m5.large"
	}
	if sp.HTTPTokens == "" {
		sp.HTTPTokens = "optional"
	}
	vols, kmsFailure, err := s.newVolumes(im, sp)
	if err != nil {
		return nil, err
	}
	if kmsFailure != "" && sp.kmsRefuse {
		return nil, errorf("Client.InternalError", "%s", kmsFailure)
	}
	sn.next++
	in := &instance{
		ID: s.newID("i"), ImageID: im.ID, InstanceType: sp.InstanceType,
		SubnetID: sn.ID, VpcID: sn.VpcID, AZ: sn.AZ,
		PrivateIP:        privateIP(sn.CIDR, sn.next),
		SecurityGroupIDs: sgs, InstanceProfileArn: sp.InstanceProfileArn, KeyName: sp.KeyName,
		HTTPTokens: sp.HTTPTokens, Platform: im.Platform, State: "pending", Patched: im.Patched,
		LaunchTime: s.clock.now, Tags: tags{}.with(sp.Tags),
		LaunchTemplateID: sp.LaunchTemplateID, LTVersion: sp.LaunchTemplateVers,
		ReservationID: sp.ReservationID, ClientToken: sp.ClientToken, LaunchIndex: sp.LaunchIndex,
		stateTime: s.clock.now,
	}
	if in.ReservationID == "" {
		in.ReservationID = s.newID("r")
	}
	in.seq = s.seq
	in.Volumes = vols
	in.launchFailure = kmsFailure
	in.ComputerName = "EC2AMAZ-" + strings.ToUpper(in.ID[len(in.ID)-7:])
	s.ec2.instances[in.ID] = in
	s.ec2.instanceOrder = append(s.ec2.instanceOrder, in)
	s.boot(in)
	return in, nil
}

// boot moves a pending instance to running and schedules its checks.
func (s *Sim) boot(in *instance) {
	gen := in.gen
	s.after(s.dur.InstancePending, func() {
		if in.gen != gen || in.State != "pending" {
			return
		}
		if in.launchFailure != "" {
			// pending → shutting-down → terminated, as EC2 does when
			// it cannot attach an encrypted volume.
			s.terminateInstance(in, in.launchFailure)
			return
		}
		s.setInstanceState(in, "running", "")
		s.scheduleChecks(in)
	})
}

// scheduleChecks makes a running instance's status checks pass and its SSM
// agent come online after their durations, unless it changes meanwhile.
func (s *Sim) scheduleChecks(in *instance) {
	g := in.gen
	s.after(s.dur.StatusChecks, func() {
		if in.gen == g && in.State == "running" {
			if s.takeOutcomeMatching("ec2", instanceStatusAction, in.faultMatches) {
				s.impair(in)
				return
			}
			in.StatusOK = true
			s.instanceChanged(in)
		}
	})
	s.after(s.dur.AgentOnline, func() {
		if in.gen == g && in.State == "running" {
			in.AgentOnline = true
			s.instanceChanged(in)
		}
	})
}

// impair fails a running instance's status checks (the InstanceStatus
// fault). The instance stays running; a stop and start clears it, as
// moving to new hardware does in EC2.
func (s *Sim) impair(in *instance) {
	in.Impaired, in.StatusOK = true, false
	s.instanceChanged(in)
}

// faultMatches reports whether an InstanceStatus fault's Match selects
// the instance.
func (in *instance) faultMatches(m map[string]string) bool {
	for k, v := range m {
		var got string
		var ok bool
		switch {
		case k == "instance-id":
			got, ok = in.ID, true
		case k == "image-id":
			got, ok = in.ImageID, true
		case strings.HasPrefix(k, "tag:"):
			got, ok = in.Tags[strings.TrimPrefix(k, "tag:")]
		}
		if !ok || got != v {
			return false
		}
	}
	return true
}

// rebootInstance reboots a running instance (CreateImage without NoReboot
// does): it stays running, and its SSM agent goes offline until the
// instance is back up.
func (s *Sim) rebootInstance(in *instance) {
	if in.State != "running" {
		return
	}
	in.gen++
	in.AgentOnline = false
	s.instanceChanged(in)
	s.scheduleChecks(in)
}

// setInstanceState records a transition and runs the instance hooks.
func (s *Sim) setInstanceState(in *instance, state, reason string) {
	in.State, in.StateReason = state, reason
	in.stateTime = s.clock.now
	in.gen++
	if state != "running" {
		in.StatusOK, in.AgentOnline, in.Impaired = false, false, false
	}
	s.instanceChanged(in)
}

func (s *Sim) instanceChanged(in *instance) {
	for _, h := range s.ec2.instanceHooks {
		h(in)
	}
}

// stopInstance stops a pending or running instance; reason is the
// StateReason AWS would give ("User initiated" or, after Sysprep's
// shutdown, "Client.InstanceInitiatedShutdown").
func (s *Sim) stopInstance(in *instance, reason string) {
	switch in.State {
	case "pending", "running":
	default:
		return
	}
	s.setInstanceState(in, "stopping", reason)
	gen := in.gen
	s.after(s.dur.InstanceStopping, func() {
		if in.gen == gen {
			s.setInstanceState(in, "stopped", reason)
		}
	})
}

// startInstance starts a stopped instance.
func (s *Sim) startInstance(in *instance) {
	if in.State != "stopped" {
		return
	}
	s.setInstanceState(in, "pending", "")
	s.boot(in)
}

// terminateInstance terminates an instance; terminated instances stay
// listed for TerminatedVisible. Terminating twice is harmless.
func (s *Sim) terminateInstance(in *instance, reason string) {
	switch in.State {
	case "shutting-down", "terminated":
		return
	}
	s.setInstanceState(in, "shutting-down", reason)
	gen := in.gen
	s.after(s.dur.InstanceShuttingDown, func() {
		if in.gen != gen {
			return
		}
		s.setInstanceState(in, "terminated", reason)
		s.after(s.dur.TerminatedVisible, func() { s.forgetInstance(in) })
	})
}

func (s *Sim) forgetInstance(in *instance) {
	delete(s.ec2.instances, in.ID)
	// instanceOrder is in launch order, so sorted by seq.
	order := s.ec2.instanceOrder
	i := sort.Search(len(order), func(i int) bool { return order[i].seq >= in.seq })
	if i < len(order) && order[i] == in {
		s.ec2.instanceOrder = append(order[:i], order[i+1:]...)
	}
}

// newImage registers a pending image with one snapshot per volume of the
// instance. The caller decides when it completes (completeImage).
func (s *Sim) newImage(in *instance, name, description string, imageTags, snapTags tags) *image {
	im := &image{
		ID: s.newID("ami"), Name: name, Description: description, OwnerID: s.opts.AccountID,
		Platform: in.Platform, State: "pending", Architecture: "x86_64",
		CreationDate: s.clock.now, Tags: tags{}.with(imageTags), SourceInstanceID: in.ID, Patched: in.Patched,
	}
	for _, v := range in.Volumes {
		// A snapshot of an encrypted volume is encrypted with the same
		// key (EBS user guide, "How Amazon EBS encryption works").
		sn := &snapshot{
			ID: s.newID("snap"), VolumeID: v.ID, State: "pending", SizeGiB: v.SizeGiB,
			Encrypted: v.Encrypted, KmsKeyID: v.KmsKeyID,
			StartTime: s.clock.now, Tags: tags{}.with(snapTags), ImageID: im.ID,
			Description: fmt.Sprintf("Created by CreateImage(%s) for %s", in.ID, im.ID),
		}
		s.ec2.snapshots[sn.ID] = sn
		im.SnapshotIDs = append(im.SnapshotIDs, sn.ID)
		im.Devices = append(im.Devices, volume{ID: sn.ID, Device: v.Device, SizeGiB: v.SizeGiB, Encrypted: v.Encrypted, KmsKeyID: v.KmsKeyID})
	}
	s.addImage(im)
	return im
}

// addImage lists a new image.
func (s *Sim) addImage(im *image) {
	s.ec2.images[im.ID] = im
	s.ec2.imageOrder = append(s.ec2.imageOrder, im)
}

// imageBuildTime is how long CreateImage takes for an instance's platform.
func (s *Sim) imageBuildTime(platform string) time.Duration {
	if platform == "windows" {
		return s.dur.ImageWindows
	}
	return s.dur.ImageLinux
}

// completeImage ends a pending image as available or failed and emits the
// EC2 AMI State Change event.
func (s *Sim) completeImage(im *image, failed bool, reason string) {
	if im.State != "pending" {
		return
	}
	state, snapState := "available", "completed"
	if failed {
		state, snapState = "failed", "error"
		if reason == "" {
			reason = "Client.InternalError: Client error on launch"
		}
		im.StateReason = reason
	}
	im.State = state
	for _, id := range im.SnapshotIDs {
		if sn := s.ec2.snapshots[id]; sn != nil {
			sn.State = snapState
		}
	}
	s.emitImageState(im, im.StateReason)
}

// deregisterImage removes an image from listings; its snapshots stay.
func (s *Sim) deregisterImage(im *image) {
	im.State = "deregistered"
	delete(s.ec2.images, im.ID)
	s.ec2.imageOrder = without(s.ec2.imageOrder, im)
	s.emitImageState(im, "")
}

// emitImageState emits the EC2 AMI State Change event for an image's
// current state.
func (s *Sim) emitImageState(im *image, errorMessage string) {
	s.emit("aws.ec2", "EC2 AMI State Change", []string{s.imageARN(im.ID)},
		map[string]any{"RequestId": "", "ImageId": im.ID, "State": im.State, "ErrorMessage": errorMessage})
}

// deleteSnapshot deletes a snapshot unless a registered image uses it.
func (s *Sim) deleteSnapshot(id string) error {
	sn, err := s.snapshotByID(id)
	if err != nil {
		return err
	}
	if im, ok := s.ec2.images[sn.ImageID]; ok && im.State != "deregistered" {
		return errorf("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, im.ID)
	}
	delete(s.ec2.snapshots, id)
	return nil
}

func (s *Sim) subnetByID(id string) *subnet {
	for _, sn := range s.ec2.subnets {
		if sn.ID == id {
			return sn
		}
	}
	return nil
}

func (s *Sim) securityGroupByID(id string) *securityGroup {
	for _, g := range s.ec2.securityGroups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// securityGroupByName finds a security group by name (the account has
// only the default VPC, so a name is unique).
func (s *Sim) securityGroupByName(name string) *securityGroup {
	for _, g := range s.ec2.securityGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// checkSecurityGroupID refuses an id that is not a security group id.
func checkSecurityGroupID(id string) error {
	if !strings.HasPrefix(id, "sg-") {
		return errorf("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
	}
	return nil
}

// checkInstanceType refuses what cannot be an instance type.
func checkInstanceType(t string) error {
	if !instanceTypeRe.MatchString(t) {
		return errorf("InvalidParameterValue", "Invalid value '%s' for InstanceType.", t)
	}
	return nil
}

// checkHTTPTokens refuses a MetadataOptions.HttpTokens other than
// "required" or "optional".
func checkHTTPTokens(v string) error {
	if v != "required" && v != "optional" {
		return errorf("InvalidParameterValue", "Value (%s) for parameter MetadataOptions.HttpTokens is invalid. Valid values: required, optional", v)
	}
	return nil
}

func (s *Sim) defaultSecurityGroup(vpcID string) *securityGroup {
	for _, g := range s.ec2.securityGroups {
		if g.VpcID == vpcID && g.Name == "default" {
			return g
		}
	}
	return s.ec2.securityGroups[0]
}

// launchTemplateByRef finds a launch template by id or name.
func (s *Sim) launchTemplateByRef(id, name string) (*launchTemplate, error) {
	if id != "" {
		if !ltIDRe.MatchString(id) {
			return nil, errorf("InvalidLaunchTemplateId.Malformed", "The launch template ID '%s' is malformed", id)
		}
		lt, ok := s.ec2.launchTemplates[id]
		if !ok {
			return nil, errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
		return lt, nil
	}
	for _, lt := range s.ec2.ltOrder {
		if lt.Name == name {
			return lt, nil
		}
	}
	return nil, errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

// version resolves "$Latest", "$Default", "" (= $Default) or a number.
func (lt *launchTemplate) version(v string) (*ltVersion, error) {
	n := lt.DefaultVersion
	switch v {
	case "", "$Default":
	case "$Latest":
		n = lt.LatestVersion
	default:
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != v {
			return nil, errorf("InvalidLaunchTemplateVersion.Malformed", "The launch template version '%s' is malformed", v)
		}
	}
	if n < 1 || n > len(lt.Versions) || lt.Versions[n-1] == nil {
		return nil, errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s", v, lt.ID)
	}
	return lt.Versions[n-1], nil
}

// privateDNSName is an instance's private DNS name in the region
// ("ip-10-0-0-4.ec2.internal").
func (s *Sim) privateDNSName(in *instance) string {
	return string(s.appendPrivateDNSName(nil, in))
}

// appendPrivateDNSName appends the private DNS name to b: DescribeInstances
// writes one per instance straight into its response buffer.
func (s *Sim) appendPrivateDNSName(b []byte, in *instance) []byte {
	b = append(b, "ip-"...)
	for i := 0; i < len(in.PrivateIP); i++ {
		c := in.PrivateIP[i]
		if c == '.' {
			c = '-'
		}
		b = append(b, c)
	}
	if s.opts.Region == "us-east-1" {
		return append(b, ".ec2.internal"...)
	}
	b = append(b, '.')
	b = append(b, s.opts.Region...)
	return append(b, ".compute.internal"...)
}

// without removes the first v from list, shifting the rest down in place
// (as append(list[:i], list[i+1:]...) does).
func without[T comparable](list []T, v T) []T {
	if i := slices.Index(list, v); i >= 0 {
		return append(list[:i], list[i+1:]...)
	}
	return list
}

func privateIP(cidr string, n int) string {
	base := strings.Split(strings.Split(cidr, "/")[0], ".")
	return fmt.Sprintf("%s.%s.%d.%d", base[0], base[1], (n/250)%250+mustAtoi(base[2]), n%250+4)
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscanf(s, "%d", &n)
	return n
}

// ec2StateView is the EC2 part of GET /_sim/state.
func ec2StateView(s *Sim) any {
	type ltv struct {
		Number  int    `json:"number"`
		ImageID string `json:"imageId"`
	}
	type ltView struct {
		ID, Name       string
		DefaultVersion int   `json:"defaultVersion"`
		LatestVersion  int   `json:"latestVersion"`
		Versions       []ltv `json:"versions"`
		Tags           tags  `json:"tags"`
	}
	lts := []ltView{}
	for _, lt := range s.ec2.ltOrder {
		v := ltView{ID: lt.ID, Name: lt.Name, DefaultVersion: lt.DefaultVersion, LatestVersion: lt.LatestVersion, Tags: lt.Tags}
		for _, x := range lt.Versions {
			if x != nil { // deleted versions leave a hole: numbers are not reused
				v.Versions = append(v.Versions, ltv{Number: x.Number, ImageID: x.Data.ImageID})
			}
		}
		lts = append(lts, v)
	}
	snaps := make([]*snapshot, 0, len(s.ec2.snapshots))
	for _, sn := range s.ec2.snapshots {
		snaps = append(snaps, sn)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].ID < snaps[j].ID })
	return map[string]any{
		"instances":       s.ec2.instanceOrder,
		"images":          s.ec2.imageOrder,
		"snapshots":       snaps,
		"launchTemplates": lts,
		"subnets":         s.ec2.subnets,
		"securityGroups":  s.ec2.securityGroups,
	}
}
