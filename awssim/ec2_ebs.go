package awssim

// This file holds EBS volumes and their encryption: the volumes an
// instance gets from its image and block device mappings, the KMS checks
// EC2 makes when it encrypts or decrypts them, and DescribeVolumes.
//
// Encryption follows the EBS user guide ("How Amazon EBS encryption
// works", "Requirements for Amazon EBS encryption"): a volume created from
// an encrypted snapshot is encrypted, with the snapshot's key unless the
// mapping names another; a mapping can ask for encryption of a volume
// from an unencrypted snapshot, with its KmsKeyId or else the AWS managed
// key alias/aws/ebs; snapshots (CreateImage, AWS Backup) are encrypted with
// their volume's key. A launch whose caller cannot use a customer managed
// key leaves the instance pending, then terminated with StateReason
// Client.InternalError "Client.InternalError: Client error on launch" (EC2
// user guide, "Troubleshoot Amazon EC2 instance launch issues", instance
// terminates immediately,
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshooting-launch.html;
// AWS re:Post, "Why does my instance with encrypted volumes stop
// immediately with 'client error on launch'?"). A key that does not exist
// fails the same way with Client.InvalidKMSKey.InvalidState, because EC2
// checks keys asynchronously (RunInstances' KmsKeyId: "if you specify an
// identifier that is not valid, the action can appear to complete, but
// eventually fails").

import (
	"sort"
	"strconv"
	"strings"
)

// Launch failures of encrypted volumes, as EC2 reports them in StateReason.
const (
	kmsLaunchDenied     = "Client.InternalError: Client error on launch"
	kmsLaunchInvalidKey = "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state"
)

// parseBlockDevices reads BlockDeviceMapping.N (RunInstances, and
// LaunchTemplateData of launch templates): DeviceName and Ebs.Encrypted,
// Ebs.KmsKeyId, Ebs.VolumeSize.
func parseBlockDevices(p params) ([]blockDevice, error) {
	var out []blockDevice
	seen := map[string]bool{}
	for _, b := range p.structs("BlockDeviceMapping") {
		d := blockDevice{Device: b.str("DeviceName"), KmsKeyID: b.str("Ebs.KmsKeyId")}
		if d.Device == "" {
			return nil, errorf("MissingParameter", "The request must contain the parameter %sDeviceName", b.prefix)
		}
		if seen[d.Device] {
			return nil, errorf("InvalidBlockDeviceMapping", "The device '%s' is used in more than one block-device mapping", d.Device)
		}
		seen[d.Device] = true
		enc, ok, err := b.boolean("Ebs.Encrypted")
		if err != nil {
			return nil, err
		}
		if ok {
			d.Encrypted = &enc
		}
		// "If KmsKeyId is specified, the encrypted state must be true."
		// (EbsBlockDevice, EC2 API reference)
		if d.KmsKeyID != "" && !enc {
			return nil, errorf("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
		}
		size, ok, err := b.integer("Ebs.VolumeSize")
		if err != nil {
			return nil, err
		}
		if ok && (size < 1 || size > 65536) {
			return nil, errorf("InvalidParameterValue", "Volume size %d is not between 1 and 65536 GiB", size)
		}
		d.VolumeSize = size
		out = append(out, d)
	}
	return out, nil
}

// mergeBlockDevices is a launch template's mappings with a request's
// over them, by device.
func mergeBlockDevices(base, over []blockDevice) []blockDevice {
	out := append([]blockDevice(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].Device == o.Device {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// newVolumes works out the volumes of an instance launched from im with
// sp's block device mappings. kmsFailure is the StateReason of a launch
// that EC2 cannot complete because of a key: unknown, or not usable by
// whoever launches (sp.kmsAccessKey / sp.kmsPrincipal). Callers hold s.mu.
func (s *Sim) newVolumes(im *image, sp instanceSpec) (vols []volume, kmsFailure string, err error) {
	byDev := map[string]*blockDevice{}
	for i := range sp.BlockDevices {
		byDev[sp.BlockDevices[i].Device] = &sp.BlockDevices[i]
	}
	customer := map[string]bool{}
	add := func(dev string, size int, enc bool, key, snapID string, b *blockDevice) error {
		if b != nil {
			if b.Encrypted != nil && *b.Encrypted {
				enc = true
				if b.KmsKeyID != "" {
					key = b.KmsKeyID
				}
			}
			if b.VolumeSize > 0 {
				if b.VolumeSize < size {
					return errorf("InvalidBlockDeviceMapping", "Volume of size %d is smaller than snapshot '%s', expect size >= %d", b.VolumeSize, snapID, size)
				}
				size = b.VolumeSize
			}
		}
		if enc && key == "" {
			key = s.ebsKeyARN()
		}
		if enc {
			k, kerr := s.keyByRef(key, true)
			switch {
			case kerr != nil:
				kmsFailure = kmsLaunchInvalidKey
			default:
				key = k.ARN
				if k.KeyManager == "CUSTOMER" {
					customer[k.ARN] = true
				}
			}
		}
		v := volume{ID: s.newID("vol"), Device: dev, SizeGiB: size, Encrypted: enc, KmsKeyID: key, SnapshotID: snapID}
		v.Tags = v.Tags.with(sp.VolumeTags)
		vols = append(vols, v)
		return nil
	}
	for _, d := range im.Devices {
		b := byDev[d.Device]
		delete(byDev, d.Device)
		if err := add(d.Device, d.SizeGiB, d.Encrypted, d.KmsKeyID, d.ID, b); err != nil {
			return nil, "", err
		}
	}
	for i := range sp.BlockDevices { // mappings of new, empty volumes
		b := &sp.BlockDevices[i]
		if byDev[b.Device] == nil {
			continue
		}
		if b.VolumeSize == 0 {
			return nil, "", errorf("InvalidBlockDeviceMapping", "The block device mapping of %s needs a VolumeSize: the image has no snapshot for it", b.Device)
		}
		if err := add(b.Device, b.VolumeSize, false, "", "", b); err != nil {
			return nil, "", err
		}
	}
	if kmsFailure == "" {
		for _, k := range sortedKeys(customer) {
			if s.ebsKeyUse(sp.kmsAccessKey, sp.kmsPrincipal, k) != nil {
				kmsFailure = kmsLaunchDenied
				break
			}
		}
	}
	return vols, kmsFailure, nil
}

// ebsKeyARN is the ARN of the region's AWS managed key for EBS.
func (s *Sim) ebsKeyARN() string { return s.kms.keys[s.kms.ebsKeyID].ARN }

// imageKeyDenied checks that the caller of CreateImage may have EC2 use
// the customer managed keys of the instance's encrypted volumes for the
// new snapshots, and returns the first key it may not use ("" when all
// may be used). AWS documents the requirement for EBS encryption as a
// whole ("Requirements for Amazon EBS encryption") and is silent on how
// CreateImage fails without it: the simulator makes the image end failed
// with a StateReason that names the key.
func (s *Sim) imageKeyDenied(r *request, in *instance) string {
	keys := map[string]bool{}
	for _, v := range in.Volumes {
		if v.Encrypted && v.KmsKeyID != "" {
			if k, err := s.keyByRef(v.KmsKeyID, false); err == nil && k.KeyManager == "CUSTOMER" {
				keys[k.ARN] = true
			}
		}
	}
	for _, k := range sortedKeys(keys) {
		if s.ebsKeyUse(r.accessKeyID, s.principalOf(r.accessKeyID), k) != nil {
			return k
		}
	}
	return ""
}

// writeLTBlockDevices writes a launch template version's mappings.
func writeLTBlockDevices(w *xmlWriter, bds []blockDevice) {
	if len(bds) == 0 {
		return
	}
	w.open("blockDeviceMappingSet")
	for _, b := range bds {
		w.open("item")
		w.elem("deviceName", b.Device)
		w.open("ebs")
		if b.Encrypted != nil {
			w.bool("encrypted", *b.Encrypted)
		}
		w.elemIf("kmsKeyId", b.KmsKeyID)
		if b.VolumeSize > 0 {
			w.int("volumeSize", b.VolumeSize)
		}
		w.close("ebs")
		w.close("item")
	}
	w.close("blockDeviceMappingSet")
}

var volumeFilters = []string{"volume-id", "attachment.instance-id", "attachment.device", "encrypted", "status", "snapshot-id", "availability-zone", "size"}

// attachedVolume is a volume with the instance it is attached to.
type attachedVolume struct {
	v  *volume
	in *instance
}

// ec2DescribeVolumes lists the volumes of the account's instances that are
// not terminated (the simulator has no detached volumes): status in-use,
// with Encrypted and KmsKeyId.
func (s *Sim) ec2DescribeVolumes(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, volumeFilters...)
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 5, 500)
	if err != nil {
		return err
	}
	ids := p.list("VolumeId")
	if len(ids) > 0 && limit > 0 {
		return errorf("InvalidParameterCombination", "The parameter VolumeId cannot be used with the parameter MaxResults")
	}
	var all []attachedVolume
	for _, in := range s.ec2.instanceOrder {
		if in.State == "terminated" {
			continue
		}
		for i := range in.Volumes {
			all = append(all, attachedVolume{&in.Volumes[i], in})
		}
	}
	want := map[string]bool{}
	for _, id := range ids {
		if !strings.HasPrefix(id, "vol-") {
			return errorf("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
		}
		want[id] = true
	}
	var out []attachedVolume
	for _, av := range all {
		if len(ids) > 0 && !want[av.v.ID] {
			continue
		}
		delete(want, av.v.ID)
		ok := matchFilters(filters, av.v.Tags, func(name string) string {
			switch name {
			case "volume-id":
				return av.v.ID
			case "attachment.instance-id":
				return av.in.ID
			case "attachment.device":
				return av.v.Device
			case "encrypted":
				return strconv.FormatBool(av.v.Encrypted)
			case "status":
				return "in-use"
			case "snapshot-id":
				return av.v.SnapshotID
			case "availability-zone":
				return av.in.AZ
			}
			return strconv.Itoa(av.v.SizeGiB)
		})
		if ok {
			out = append(out, av)
		}
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for id := range want {
			missing = append(missing, id)
		}
		sort.Strings(missing)
		return errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", missing[0])
	}
	return writePage(w, p, limit, "volumeSet", out, func(av attachedVolume) {
		v := av.v
		w.open("item")
		w.elem("volumeId", v.ID)
		w.int("size", v.SizeGiB)
		w.elemIf("snapshotId", v.SnapshotID)
		w.elem("availabilityZone", av.in.AZ)
		w.elem("status", "in-use")
		w.time("createTime", av.in.LaunchTime)
		w.raw("<attachmentSet><item>")
		w.elem("volumeId", v.ID)
		w.elem("instanceId", av.in.ID)
		w.elem("device", v.Device)
		w.elem("status", "attached")
		w.time("attachTime", av.in.LaunchTime)
		w.bool("deleteOnTermination", true)
		w.raw("</item></attachmentSet>")
		w.elem("volumeType", "gp3")
		w.bool("encrypted", v.Encrypted)
		if v.Encrypted {
			w.elem("kmsKeyId", v.KmsKeyID)
		}
		writeTagSet(w, v.Tags)
		w.close("item")
	})
}
