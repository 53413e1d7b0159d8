package awssim

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file serves EC2's image and snapshot actions: CreateImage,
// DescribeImages, DeregisterImage, EnableImageDeprecation,
// DisableImageDeprecation, DescribeSnapshots and DeleteSnapshot.

// amiNameRe is what EC2 accepts as an AMI name.
var amiNameRe = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)

func (s *Sim) ec2CreateImage(r *request, p params, w *xmlWriter) error {
	id, err := p.required("InstanceId", true)
	if err != nil {
		return err
	}
	name, err := p.required("Name", true)
	if err != nil {
		return err
	}
	if !amiNameRe.MatchString(name) {
		return errorf("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_' (got %q)", name)
	}
	desc := p.str("Description")
	if len(desc) > 255 {
		return errorf("InvalidParameterValue", "The description of an image must be at most 255 characters long")
	}
	noReboot, _, err := p.boolean("NoReboot")
	if err != nil {
		return err
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "image", "snapshot")
	if err != nil {
		return err
	}
	in, err := s.instanceByID(id, false)
	if err != nil {
		return err
	}
	if in.State != "running" && in.State != "stopped" {
		return errorf("IncorrectInstanceState", "The instance '%s' is not in the 'running' or 'stopped' state (it is %s)", in.ID, in.State)
	}
	for _, im := range s.ec2.imageOrder {
		if im.OwnerID == s.opts.AccountID && im.Name == name {
			return errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, im.ID)
		}
	}
	if err := s.authorize(r,
		Resource{ARN: s.instanceARN(in.ID), Tags: in.Tags},
		Resource{ARN: s.imageARN("*"), Tags: specs["image"]},
		Resource{ARN: s.snapshotARN("*"), Tags: specs["snapshot"]},
	); err != nil {
		return err
	}
	failed := s.takeOutcome("ec2", "CreateImage")
	reason := ""
	if key := s.imageKeyDenied(r, in); key != "" {
		failed, reason = true, "Client.InternalError: the caller cannot use the KMS key "+key+" of the instance's encrypted volumes"
	}
	if in.State == "running" && !noReboot {
		s.rebootInstance(in)
	}
	im := s.newImage(in, name, desc, specs["image"], specs["snapshot"])
	s.after(s.imageBuildTime(in.Platform), func() { s.completeImage(im, failed, reason) })
	w.elem("imageId", im.ID)
	return nil
}

var imageFilters = []string{
	"name", "state", "image-id", "owner-id", "owner-alias", "platform", "is-public",
	"architecture", "image-type", "description", "source-instance-id",
}

func (s *Sim) imageAttr(im *image) func(string) string {
	return func(name string) string {
		switch name {
		case "name":
			return im.Name
		case "state":
			return im.State
		case "image-id":
			return im.ID
		case "owner-id":
			return im.OwnerID
		case "owner-alias":
			return im.OwnerAlias
		case "platform":
			return im.Platform
		case "is-public":
			if im.Public {
				return "true"
			}
			return "false"
		case "architecture":
			return im.Architecture
		case "image-type":
			return "machine"
		case "description":
			return im.Description
		case "source-instance-id":
			return im.SourceInstanceID
		}
		return ""
	}
}

// ownedBy reports whether an image matches one of DescribeImages' Owner
// values: "self", "amazon" or an account id.
func (s *Sim) ownedBy(im *image, owners []string) bool {
	if len(owners) == 0 {
		return true
	}
	for _, o := range owners {
		switch {
		case o == "self" && im.OwnerID == s.opts.AccountID,
			o == "amazon" && im.OwnerAlias == "amazon",
			o == im.OwnerID:
			return true
		}
	}
	return false
}

func (s *Sim) ec2DescribeImages(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, imageFilters...)
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 1, 1000)
	if err != nil {
		return err
	}
	owners := p.list("Owner")
	for _, o := range owners {
		if o != "self" && o != "amazon" && o != "aws-marketplace" && o != "aws-backup-vault" && !accountIDRe.MatchString(o) {
			return errorf("InvalidUserID.Malformed", "Invalid user id: %q", o)
		}
	}
	var cands []*image
	if ids := p.list("ImageId"); len(ids) > 0 {
		if limit > 0 {
			return errorf("InvalidParameterCombination", "The parameter ImageId cannot be used with the parameter MaxResults")
		}
		if cands, err = appendFound(nil, ids, func(id string) (*image, error) { return s.imageByID(id, false) }); err != nil {
			return err
		}
	} else {
		cands = s.ec2.imageOrder
	}
	var out []*image
	for _, im := range cands {
		if s.ownedBy(im, owners) && matchFilters(filters, im.Tags, s.imageAttr(im)) {
			out = append(out, im)
		}
	}
	return writePage(w, p, limit, "imagesSet", out, func(im *image) {
		s.writeImage(w, im)
	})
}

var accountIDRe = regexp.MustCompile(`^\d{12}$`)

func (s *Sim) writeImage(w *xmlWriter, im *image) {
	w.open("item")
	w.elem("imageId", im.ID)
	owner := im.OwnerID
	if im.OwnerAlias != "" {
		owner = im.OwnerAlias
	}
	w.elem("imageLocation", owner+"/"+im.Name)
	w.elem("imageState", im.State)
	w.elem("imageOwnerId", im.OwnerID)
	w.time("creationDate", im.CreationDate)
	w.bool("isPublic", im.Public)
	w.elem("architecture", im.Architecture)
	w.elem("imageType", "machine")
	w.elemIf("platform", im.Platform)
	details, usage := platformDetails(im.Platform)
	w.elem("platformDetails", details)
	w.elem("usageOperation", usage)
	w.elemIf("imageOwnerAlias", im.OwnerAlias)
	w.elem("name", im.Name)
	w.elemIf("description", im.Description)
	w.elem("rootDeviceType", "ebs")
	if len(im.Devices) > 0 {
		w.elem("rootDeviceName", im.Devices[0].Device)
	}
	w.open("blockDeviceMapping")
	for _, d := range im.Devices {
		w.open("item")
		w.elem("deviceName", d.Device)
		w.open("ebs")
		w.bool("deleteOnTermination", true)
		w.elem("snapshotId", d.ID)
		w.int("volumeSize", d.SizeGiB)
		w.elem("volumeType", "gp3")
		// DescribeImages reports whether a snapshot is encrypted, not
		// with which key: DescribeSnapshots says that.
		w.bool("encrypted", d.Encrypted)
		w.close("ebs")
		w.close("item")
	}
	w.close("blockDeviceMapping")
	w.elem("virtualizationType", "hvm")
	if im.StateReason != "" {
		code, _, _ := strings.Cut(im.StateReason, ":")
		w.open("stateReason")
		w.elem("code", code)
		w.elem("message", im.StateReason)
		w.close("stateReason")
	}
	w.elemIf("sourceInstanceId", im.SourceInstanceID)
	if !im.DeprecationTime.IsZero() {
		w.time("deprecationTime", im.DeprecationTime)
	}
	writeTagSet(w, im.Tags)
	w.elem("hypervisor", "xen")
	w.bool("enaSupport", true)
	w.close("item")
}

func (s *Sim) ec2DeregisterImage(r *request, p params, w *xmlWriter) error {
	id, err := p.required("ImageId", true)
	if err != nil {
		return err
	}
	deleteSnaps, _, err := p.boolean("DeleteAssociatedSnapshots")
	if err != nil {
		return err
	}
	im, err := s.imageByID(id, false)
	if err != nil {
		return err
	}
	if im.OwnerID != s.opts.AccountID {
		return errorf("AuthFailure", "Not authorized for image:%s", id)
	}
	res := []Resource{{ARN: s.imageARN(im.ID), Tags: im.Tags}}
	if deleteSnaps {
		for _, sid := range im.SnapshotIDs {
			if sn := s.ec2.snapshots[sid]; sn != nil {
				res = append(res, Resource{ARN: s.snapshotARN(sid), Tags: sn.Tags})
			}
		}
	}
	if err := s.authorize(r, res...); err != nil {
		return err
	}
	s.deregisterImage(im)
	if deleteSnaps {
		w.open("deleteSnapshotResultSet")
		for _, sid := range im.SnapshotIDs {
			code := "success"
			if err := s.deleteSnapshot(sid); err != nil {
				code = "error-code"
			}
			w.open("item")
			w.elem("snapshotId", sid)
			w.elem("returnCode", code)
			w.close("item")
		}
		w.close("deleteSnapshotResultSet")
	}
	w.elem("return", "true")
	return nil
}

// sortedSnapshots lists the account's snapshots by start time, then id.
func (s *Sim) sortedSnapshots() []*snapshot {
	out := make([]*snapshot, 0, len(s.ec2.snapshots))
	for _, sn := range s.ec2.snapshots {
		out = append(out, sn)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartTime.Equal(out[j].StartTime) {
			return out[i].StartTime.Before(out[j].StartTime)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

var snapshotFilters = []string{"snapshot-id", "status", "volume-id", "description", "owner-id", "volume-size", "encrypted"}

func (s *Sim) ec2DescribeSnapshots(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, snapshotFilters...)
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 5, 1000)
	if err != nil {
		return err
	}
	mine := true
	if owners := p.list("Owner"); len(owners) > 0 {
		mine = false
		for _, o := range owners {
			mine = mine || o == "self" || o == s.opts.AccountID
		}
	}
	var cands []*snapshot
	if ids := p.list("SnapshotId"); len(ids) > 0 {
		if limit > 0 {
			return errorf("InvalidParameterCombination", "The parameter SnapshotId cannot be used with the parameter MaxResults")
		}
		if cands, err = appendFound(nil, ids, s.snapshotByID); err != nil {
			return err
		}
	} else {
		cands = s.sortedSnapshots()
	}
	var out []*snapshot
	for _, sn := range cands {
		if !mine {
			continue
		}
		ok := matchFilters(filters, sn.Tags, func(name string) string {
			switch name {
			case "snapshot-id":
				return sn.ID
			case "status":
				return sn.State
			case "volume-id":
				return sn.VolumeID
			case "description":
				return sn.Description
			case "owner-id":
				return s.opts.AccountID
			case "encrypted":
				return strconv.FormatBool(sn.Encrypted)
			}
			return strconv.Itoa(sn.SizeGiB)
		})
		if ok {
			out = append(out, sn)
		}
	}
	return writePage(w, p, limit, "snapshotSet", out, func(sn *snapshot) {
		w.open("item")
		w.elem("snapshotId", sn.ID)
		w.elem("volumeId", sn.VolumeID)
		w.elem("status", sn.State)
		w.time("startTime", sn.StartTime)
		progress := "0%"
		if sn.State == "completed" {
			progress = "100%"
		}
		w.elem("progress", progress)
		w.elem("ownerId", s.opts.AccountID)
		w.int("volumeSize", sn.SizeGiB)
		w.elemIf("description", sn.Description)
		w.bool("encrypted", sn.Encrypted)
		if sn.Encrypted {
			w.elem("kmsKeyId", sn.KmsKeyID)
		}
		w.elem("storageTier", "standard")
		writeTagSet(w, sn.Tags)
		w.close("item")
	})
}

func (s *Sim) ec2DeleteSnapshot(r *request, p params, w *xmlWriter) error {
	id, err := p.required("SnapshotId", true)
	if err != nil {
		return err
	}
	sn, err := s.snapshotByID(id)
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.snapshotARN(id), Tags: sn.Tags}); err != nil {
		return err
	}
	if err := s.deleteSnapshot(id); err != nil {
		return err
	}
	w.elem("return", "true")
	return nil
}

// ec2EnableImageDeprecation schedules an image's deprecation. As
// "EnableImageDeprecation" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html)
// says: DeprecateAt is rounded to the nearest minute, may not be in the
// past, and at most 10 years from now (2 years from creation for a public
// image). Only the owner may deprecate an image. The error code for a
// DeprecateAt out of range is not documented; the simulator answers
// InvalidParameterValue, EC2's code for a value it refuses.
func (s *Sim) ec2EnableImageDeprecation(r *request, p params, w *xmlWriter) error {
	im, err := s.ownImageFor(r, p)
	if err != nil {
		return err
	}
	raw, err := p.required("DeprecateAt", true)
	if err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return errorf("InvalidParameterValue", "Value (%s) for parameter DeprecateAt is invalid. Expected format: YYYY-MM-DDTHH:MM:SSZ.", raw)
	}
	at = at.UTC().Round(time.Minute)
	limit := s.clock.now.AddDate(10, 0, 0)
	if im.Public {
		limit = im.CreationDate.AddDate(2, 0, 0)
	}
	switch {
	case at.Before(s.clock.now.Truncate(time.Minute)):
		return errorf("InvalidParameterValue", "The deprecation time %s is in the past.", at.Format(time.RFC3339))
	case at.After(limit):
		return errorf("InvalidParameterValue", "The deprecation time %s is beyond the limit %s.", at.Format(time.RFC3339), limit.UTC().Format(time.RFC3339))
	}
	im.DeprecationTime = at
	w.bool("return", true)
	return nil
}

// ec2DisableImageDeprecation cancels an image's scheduled deprecation.
func (s *Sim) ec2DisableImageDeprecation(r *request, p params, w *xmlWriter) error {
	im, err := s.ownImageFor(r, p)
	if err != nil {
		return err
	}
	im.DeprecationTime = time.Time{}
	w.bool("return", true)
	return nil
}

// ownImageFor finds the ImageId of a call that changes an image, which
// only its owner may do, and authorizes the call on it.
func (s *Sim) ownImageFor(r *request, p params) (*image, error) {
	id, err := p.required("ImageId", true)
	if err != nil {
		return nil, err
	}
	im, err := s.imageByID(id, false)
	if err != nil {
		return nil, err
	}
	if im.OwnerID != s.opts.AccountID {
		return nil, errorf("AuthFailure", "Not authorized for image:%s", id)
	}
	if err := s.authorize(r, Resource{ARN: s.imageARN(im.ID), Tags: im.Tags}); err != nil {
		return nil, err
	}
	return im, nil
}
