// Package status reports, for each opted-in Auto Scaling group of an
// account and region, what it launches, where that AMI came from, which
// golden AMIs are kept, how its last swap ended, whether its lock is held,
// and its settings with where each came from.
package status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// GroupReader lists Auto Scaling groups.
type GroupReader interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// ImageReader reads launch template versions and images.
type ImageReader interface {
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// LockReader reads a lock item.
type LockReader interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// SwapFinder returns the last swap of each group it knows of, by group
// name: from the deployed stack's executions, or from the local history.
type SwapFinder interface {
	LastSwaps(ctx context.Context) (map[string]Swap, error)
}

// Options say what to report on and where to look.
type Options struct {
	ASG GroupReader
	EC2 ImageReader
	// Locks and LockTable, when both set, say whether a group's lock is held.
	Locks     LockReader
	LockTable string
	// Swaps finds the last swap of each group (optional).
	Swaps SwapFinder
	// Group limits the report to one group (opted in or not).
	Group string
	// Now is the time ages are measured to (the simulator's clock against
	// the simulator).
	Now time.Time
}

// Report is what `amiswap status --json` prints.
type Report struct {
	Groups []Group `json:"groups"`
	// SwapSource says where LastSwap came from: "stack <name>", "local
	// history <dir>", or "" when nothing was looked at.
	SwapSource string `json:"swapSource,omitempty"`
}

// Group is one group's status.
type Group struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// LaunchTemplate is what the group launches from; nil for a group on a
	// launch configuration (Problem says so).
	LaunchTemplate *LaunchTemplate `json:"launchTemplate"`
	// ImageID is the AMI the group launches.
	ImageID string `json:"imageId"`
	// Golden is the lineage of ImageID when it is a golden AMI, else nil.
	Golden *Golden `json:"golden"`
	// KeptImages are the group's registered golden AMIs, newest first.
	KeptImages []Image `json:"keptImages"`
	LastSwap   *Swap   `json:"lastSwap"`
	Locked     bool    `json:"locked"`
	// LockOwner is the execution that holds the lock.
	LockOwner string                           `json:"lockOwner,omitempty"`
	Settings  map[string]amiswap.SettingSource `json:"settings"`
	// Problem says what keeps amiswap from swapping the group, if anything.
	Problem string `json:"problem,omitempty"`
}

// LaunchTemplate is how the group names its launch template.
type LaunchTemplate struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// ResolvedVersion is the number Version stands for now.
	ResolvedVersion string `json:"resolvedVersion"`
}

// Golden is a golden AMI's lineage, from its tags.
type Golden struct {
	ImageID        string    `json:"imageId"`
	SourceInstance string    `json:"sourceInstance"`
	BackupJob      string    `json:"backupJob"`
	RecoveryPoint  string    `json:"recoveryPoint"`
	ParentImage    string    `json:"parentImage"`
	Execution      string    `json:"execution"`
	Created        time.Time `json:"created"`
	AgeSeconds     int64     `json:"ageSeconds"`
	Age            string    `json:"age"`
}

// Image is one kept golden AMI.
type Image struct {
	ImageID string    `json:"imageId"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Current is true for the AMI the group launches.
	Current bool `json:"current"`
	// Deprecated is when EC2 deprecates it (zero when never).
	DeprecationTime string `json:"deprecationTime,omitempty"`
}

// Swap is how a group's last execution ended.
type Swap struct {
	Execution string `json:"execution"`
	// Outcome is swapped, rolled back, failed, running, interrupted, timed
	// out or aborted.
	Outcome string    `json:"outcome"`
	When    time.Time `json:"when"`
	Ended   time.Time `json:"ended,omitzero"`
	// LastState is the last state the execution entered.
	LastState string `json:"lastState,omitempty"`
	// Kind is "swap" or "rollback".
	Kind string `json:"kind"`
}

// Collect builds the report.
func Collect(ctx context.Context, o Options) (*Report, error) {
	groups, err := o.groups(ctx)
	if err != nil {
		return nil, err
	}
	var swaps map[string]Swap
	if o.Swaps != nil {
		if swaps, err = o.Swaps.LastSwaps(ctx); err != nil {
			return nil, fmt.Errorf("status: last swaps: %w", err)
		}
	}
	rep := &Report{Groups: []Group{}}
	for i := range groups {
		g, err := o.group(ctx, &groups[i])
		if err != nil {
			return nil, err
		}
		if s, ok := swaps[g.Name]; ok {
			g.LastSwap = &s
		}
		rep.Groups = append(rep.Groups, *g)
	}
	return rep, nil
}

// ErrNoGroup is returned (wrapped) when Options.Group names no group.
var ErrNoGroup = errors.New("no such Auto Scaling group")

// groups lists the opted-in groups, or the one named group.
func (o Options) groups(ctx context.Context) ([]asgtypes.AutoScalingGroup, error) {
	in := &autoscaling.DescribeAutoScalingGroupsInput{}
	if o.Group != "" {
		in.AutoScalingGroupNames = []string{o.Group}
	} else {
		in.Filters = []asgtypes.Filter{{Name: aws.String("tag:" + amiswap.TagEnabled), Values: []string{"true", "True", "TRUE"}}}
	}
	var out []asgtypes.AutoScalingGroup
	for {
		page, err := o.ASG.DescribeAutoScalingGroups(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("status: describe groups: %w", err)
		}
		for _, g := range page.AutoScalingGroups {
			if o.Group != "" && aws.ToString(g.AutoScalingGroupName) != o.Group {
				continue
			}
			if o.Group == "" {
				if ok, _ := amiswap.Enabled(tagMap(g.Tags)); !ok {
					continue
				}
			}
			out = append(out, g)
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	if o.Group != "" && len(out) == 0 {
		return nil, fmt.Errorf("status: %w: %s", ErrNoGroup, o.Group)
	}
	slices.SortFunc(out, func(a, b asgtypes.AutoScalingGroup) int {
		return strings.Compare(aws.ToString(a.AutoScalingGroupName), aws.ToString(b.AutoScalingGroupName))
	})
	return out, nil
}

func (o Options) group(ctx context.Context, ag *asgtypes.AutoScalingGroup) (*Group, error) {
	tags := tagMap(ag.Tags)
	g := &Group{Name: aws.ToString(ag.AutoScalingGroupName), KeptImages: []Image{}, Settings: amiswap.SettingSources(tags)}
	g.Enabled, g.Problem = amiswap.Enabled(tags)
	spec := ag.LaunchTemplate
	if ag.MixedInstancesPolicy != nil && ag.MixedInstancesPolicy.LaunchTemplate != nil && ag.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification != nil {
		spec = ag.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		g.Problem = "the group uses a launch configuration, not a launch template"
	} else {
		lt, image, err := o.launchTemplate(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("status: group %s: %w", g.Name, err)
		}
		g.LaunchTemplate, g.ImageID = lt, image
	}
	kept, err := o.keptImages(ctx, g.Name)
	if err != nil {
		return nil, fmt.Errorf("status: group %s: %w", g.Name, err)
	}
	for _, im := range kept {
		img := Image{ImageID: aws.ToString(im.ImageId), Name: aws.ToString(im.Name), Created: parseTime(aws.ToString(im.CreationDate)),
			DeprecationTime: aws.ToString(im.DeprecationTime)}
		img.Current = img.ImageID == g.ImageID
		g.KeptImages = append(g.KeptImages, img)
	}
	if g.ImageID != "" && !strings.HasPrefix(g.ImageID, "resolve:ssm:") {
		if g.Golden, err = o.golden(ctx, g.ImageID, kept); err != nil {
			return nil, fmt.Errorf("status: group %s: %w", g.Name, err)
		}
	}
	if o.Locks != nil && o.LockTable != "" {
		if g.Locked, g.LockOwner, err = o.lock(ctx, g.Name); err != nil {
			return nil, fmt.Errorf("status: group %s: %w", g.Name, err)
		}
	}
	return g, nil
}

// launchTemplate resolves the version a group names to its number and AMI.
func (o Options) launchTemplate(ctx context.Context, spec *asgtypes.LaunchTemplateSpecification) (*LaunchTemplate, string, error) {
	lt := &LaunchTemplate{ID: aws.ToString(spec.LaunchTemplateId), Name: aws.ToString(spec.LaunchTemplateName), Version: aws.ToString(spec.Version)}
	v := lt.Version
	if v == "" {
		v = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{v}}
	if lt.ID != "" {
		in.LaunchTemplateId = aws.String(lt.ID)
	} else {
		in.LaunchTemplateName = aws.String(lt.Name)
	}
	out, err := o.EC2.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("describe launch template version %s: %w", v, err)
	}
	if len(out.LaunchTemplateVersions) == 0 {
		return lt, "", nil
	}
	ver := out.LaunchTemplateVersions[0]
	lt.ID, lt.Name = aws.ToString(ver.LaunchTemplateId), aws.ToString(ver.LaunchTemplateName)
	lt.ResolvedVersion = strconv.FormatInt(aws.ToInt64(ver.VersionNumber), 10)
	var image string
	if ver.LaunchTemplateData != nil {
		image = aws.ToString(ver.LaunchTemplateData.ImageId)
	}
	return lt, image, nil
}

// keptImages lists the group's golden AMIs, newest first.
func (o Options) keptImages(ctx context.Context, group string) ([]ec2types.Image, error) {
	in := &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagGroup), Values: []string{group}},
		{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}},
	}}
	var out []ec2types.Image
	for {
		page, err := o.EC2.DescribeImages(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe golden images: %w", err)
		}
		out = append(out, page.Images...)
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	slices.SortStableFunc(out, func(a, b ec2types.Image) int {
		return cmp.Compare(aws.ToString(b.CreationDate), aws.ToString(a.CreationDate))
	})
	return out, nil
}

// golden returns the lineage of image when it is a golden AMI.
func (o Options) golden(ctx context.Context, image string, kept []ec2types.Image) (*Golden, error) {
	var im *ec2types.Image
	for i := range kept {
		if aws.ToString(kept[i].ImageId) == image {
			im = &kept[i]
		}
	}
	if im == nil {
		// Not one of the group's: it may still be golden (another group's)
		// or public, which DescribeImages with Owners self would not show.
		out, err := o.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
		if err != nil {
			var code interface{ ErrorCode() string }
			if errors.As(err, &code) && strings.HasPrefix(code.ErrorCode(), "InvalidAMIID") {
				return nil, nil
			}
			return nil, fmt.Errorf("describe image %s: %w", image, err)
		}
		if len(out.Images) == 0 {
			return nil, nil
		}
		im = &out.Images[0]
	}
	t := tagMap2(im.Tags)
	if t[amiswap.TagRole] != amiswap.RoleGolden {
		return nil, nil
	}
	created := parseTime(t[amiswap.TagCreatedAt])
	if created.IsZero() {
		created = parseTime(aws.ToString(im.CreationDate))
	}
	g := &Golden{ImageID: image, SourceInstance: t[amiswap.TagSourceInst], BackupJob: t[amiswap.TagBackupJob],
		RecoveryPoint: t[amiswap.TagRecoveryPoint], ParentImage: t[amiswap.TagParentImage], Execution: t[amiswap.TagExecution], Created: created}
	if !created.IsZero() && !o.Now.IsZero() {
		age := max(o.Now.Sub(created), 0)
		g.AgeSeconds, g.Age = int64(age/time.Second), FormatAge(age)
	}
	return g, nil
}

// lock reports whether the group's lock item is held and by whom. An
// expired lease counts as free, as Lock treats it.
func (o Options) lock(ctx context.Context, group string) (bool, string, error) {
	out, err := o.Locks.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(o.LockTable),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: workflow.LockKey(group)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, "", fmt.Errorf("read lock: %w", err)
	}
	if out.Item == nil {
		return false, "", nil
	}
	owner, _ := out.Item["owner"].(*ddbtypes.AttributeValueMemberS)
	if exp, ok := out.Item["expiresAt"].(*ddbtypes.AttributeValueMemberN); ok && !o.Now.IsZero() {
		if n, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && n < o.Now.Unix() {
			return false, "", nil
		}
	}
	if owner == nil {
		return true, "", nil
	}
	return true, owner.Value, nil
}

// FormatAge prints a duration the way people say an age: 3d4h, 5h12m, 40m.
func FormatAge(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days := int(d / (24 * time.Hour))
	h := int(d/time.Hour) % 24
	m := int(d/time.Minute) % 60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		return fmt.Sprintf("%dm", m)
	}
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func tagMap(ts []asgtypes.TagDescription) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func tagMap2(ts []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
