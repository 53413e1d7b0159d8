package workflow

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestGoldenImageName(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 34, 56, 789, time.FixedZone("CET", 3600))
	allowed := regexp.MustCompile(`^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$`)
	cases := map[string]string{
		"web":                       "amiswap-web-20261126T113456Z",
		"team:web#1":                "amiswap-team-web-1-20261126T113456Z",
		"größe":                     "amiswap-gr--e-20261126T113456Z",
		strings.Repeat("g", 300):    "amiswap-" + strings.Repeat("g", 128-len("amiswap-")-len("-20261126T113456Z")) + "-20261126T113456Z",
		"a (b) [c] d.e/f-g'h@i_j k": "amiswap-a (b) [c] d.e/f-g'h@i_j k-20261126T113456Z",
	}
	for group, want := range cases {
		got := GoldenImageName(group, at)
		if got != want {
			t.Errorf("GoldenImageName(%.20q) = %q, want %q", group, got, want)
		}
		if !allowed.MatchString(got) {
			t.Errorf("%q is not a valid AMI name", got)
		}
	}
}

func TestCreateImageTagsImageAndSnapshotsWithLineage(t *testing.T) {
	f := &fakeBuilderEC2{}
	res, err := (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, nil))
	if err != nil {
		t.Fatal(err)
	}
	name := "amiswap-web-20261126T120000Z"
	if res.ImageID != btNewAMI || res.Name != name || !res.RequestedAt.Equal(btNow) {
		t.Errorf("result = %+v", res)
	}
	// Looked for this execution's image by name first.
	if len(f.images) == 0 || aws.ToString(f.images[0].Filters[0].Name) != "name" || f.images[0].Filters[0].Values[0] != name || f.images[0].Owners[0] != "self" {
		t.Errorf("first DescribeImages = %+v", f.images)
	}
	if len(f.create) != 1 {
		t.Fatalf("CreateImage calls = %d", len(f.create))
	}
	in := f.create[0]
	if aws.ToString(in.InstanceId) != btInstance || aws.ToString(in.Name) != name || !aws.ToBool(in.NoReboot) {
		t.Errorf("CreateImage = instance %s name %s NoReboot %v", aws.ToString(in.InstanceId), aws.ToString(in.Name), aws.ToBool(in.NoReboot))
	}
	if d := aws.ToString(in.Description); !strings.Contains(d, "web") || !strings.Contains(d, "job-1") || len(d) > 255 {
		t.Errorf("Description = %q", d)
	}
	want := map[string]string{
		"Name":                   name,
		amiswap.TagRole:          amiswap.RoleGolden,
		amiswap.TagGroup:         "web",
		amiswap.TagSourceInst:    "i-0fedcba9876543210",
		amiswap.TagBackupJob:     "job-1",
		amiswap.TagRecoveryPoint: btRP,
		amiswap.TagParentImage:   btSource,
		amiswap.TagExecution:     btExec,
		amiswap.TagCreatedAt:     "2026-11-26T12:00:00Z",
	}
	kinds := map[ec2types.ResourceType]bool{}
	for _, ts := range in.TagSpecifications {
		kinds[ts.ResourceType] = true
		got := tagMap(ts.Tags)
		if len(got) != len(want) {
			t.Errorf("%s tags = %v", ts.ResourceType, got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s tag %s = %q, want %q", ts.ResourceType, k, got[k], v)
			}
		}
	}
	if !kinds[ec2types.ResourceTypeImage] || !kinds[ec2types.ResourceTypeSnapshot] || len(kinds) != 2 {
		t.Errorf("tagged resource types = %v, want image and snapshot", kinds)
	}
}

func TestCreateImageReusesThisExecutionsImage(t *testing.T) {
	created := "2026-11-26T11:50:00.000Z"
	existing := func(match string) func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			if aws.ToString(in.Filters[0].Name) != match {
				return &ec2.DescribeImagesOutput{}, nil
			}
			return &ec2.DescribeImagesOutput{Images: []ec2types.Image{{ImageId: aws.String("ami-0ddddddddddddddd4"), Name: aws.String("n"), State: "pending", CreationDate: aws.String(created)}}}, nil
		}
	}
	cases := []struct {
		name   string
		images func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
	}{
		{"same name (a retry)", existing("name")},
		{"same execution tag (the step entered again)", existing("tag:" + amiswap.TagExecution)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeBuilderEC2{imagesFn: c.images}
			res, err := (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.create) != 0 || res.ImageID != "ami-0ddddddddddddddd4" {
				t.Errorf("created %d, result %+v", len(f.create), res)
			}
			if want, _ := time.Parse(time.RFC3339, created); !res.RequestedAt.Equal(want) {
				t.Errorf("RequestedAt = %v, want the image's creation date", res.RequestedAt)
			}
		})
	}
}

func TestCreateImageDuplicateNameIsReused(t *testing.T) {
	calls := 0
	f := &fakeBuilderEC2{
		imagesFn: func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			calls++
			if calls <= 2 { // before CreateImage: not visible yet
				return &ec2.DescribeImagesOutput{}, nil
			}
			return &ec2.DescribeImagesOutput{Images: []ec2types.Image{{ImageId: aws.String("ami-0eeeeeeeeeeeeeee5"), Name: aws.String(in.Filters[0].Values[0]), State: "pending"}}}, nil
		},
		createFn: func(*ec2.CreateImageInput) (*ec2.CreateImageOutput, error) {
			return nil, apiErr("InvalidAMIName.Duplicate")
		},
	}
	res, err := (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.ImageID != "ami-0eeeeeeeeeeeeeee5" {
		t.Errorf("result = %+v", res)
	}
	// Still not visible: retry later.
	f = &fakeBuilderEC2{createFn: func(*ec2.CreateImageInput) (*ec2.CreateImageOutput, error) {
		return nil, apiErr("InvalidAMIName.Duplicate")
	}}
	_, err = (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, nil))
	wantTyped[*amiswap.TransientError](t, err)
}

func TestCreateImageErrors(t *testing.T) {
	f := &fakeBuilderEC2{createFn: func(*ec2.CreateImageInput) (*ec2.CreateImageOutput, error) {
		return nil, apiErr("IncorrectInstanceState")
	}}
	_, err := (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, nil))
	wantTyped[*amiswap.AWSError](t, err)

	f = &fakeBuilderEC2{}
	_, err = (&CreateImage{EC2: f}).Create(context.Background(), btPayload(btNow, func(s *State) { s.Builder.InstanceID = "web-1" }))
	wantTyped[*amiswap.InvalidInputError](t, err)
	if len(f.calls) != 0 {
		t.Errorf("called AWS: %v", f.calls)
	}
}

func TestCheckImage(t *testing.T) {
	noJitter(t)
	image := func(state ec2types.ImageState, reason string) func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			img := ec2types.Image{ImageId: aws.String(btNewAMI), State: state}
			if reason != "" {
				img.StateReason = &ec2types.StateReason{Message: aws.String(reason)}
			}
			return &ec2.DescribeImagesOutput{Images: []ec2types.Image{img}}, nil
		}
	}
	notFound := func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return nil, apiErr("InvalidAMIID.NotFound")
	}
	cases := []struct {
		name    string
		linux   bool
		after   time.Duration // since CreateImage
		images  func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
		ready   bool
		wait    int
		waiting string
		err     string
		cause   string
	}{
		{name: "not visible yet", after: 3 * time.Second, images: notFound, wait: 10, waiting: "image not visible yet"},
		{name: "empty answer early", after: 3 * time.Second, images: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return &ec2.DescribeImagesOutput{}, nil
		}, wait: 10, waiting: "image not visible yet"},
		{name: "gone", after: 20 * time.Minute, images: notFound, err: "ImageFailedError", cause: "not found"},
		{name: "windows pending early", after: 2 * time.Minute, images: image("pending", ""), wait: 120, waiting: "image pending (2 min so far)"},
		{name: "windows pending late", after: 40 * time.Minute, images: image("pending", ""), wait: 60, waiting: "image pending (40 min so far)"},
		{name: "linux pending late", linux: true, after: 6 * time.Minute, images: image("pending", ""), wait: 30, waiting: "image pending (6 min so far)"},
		{name: "available", after: 12 * time.Minute, images: image("available", ""), ready: true},
		{name: "failed", after: 12 * time.Minute, images: image("failed", "Client.InternalError: snapshot failed"), err: "ImageFailedError", cause: "image is failed: Client.InternalError: snapshot failed"},
		{name: "deregistered", after: 12 * time.Minute, images: image("deregistered", ""), err: "ImageFailedError", cause: "deregistered"},
		{name: "invalid", after: 12 * time.Minute, images: image("invalid", ""), err: "ImageFailedError", cause: "invalid"},
		{name: "deadline", after: 3 * time.Hour, images: image("pending", ""), err: "StepTimeoutError", cause: "image pending"},
		{name: "throttled", after: time.Hour, images: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return nil, apiErr("RequestLimitExceeded")
		}, err: "ThrottledError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeBuilderEC2{imagesFn: c.images}
			p := btPayload(btNow.Add(c.after), func(s *State) {
				s.Image = &ImageResult{ImageID: btNewAMI, Name: "n", RequestedAt: btNow}
				if c.linux {
					s.Target.Source.Platform = "linux"
				}
			})
			res, err := (&CheckImage{EC2: f}).Check(context.Background(), p)
			if len(f.images) != 1 || len(f.images[0].ImageIds) != 1 || f.images[0].ImageIds[0] != btNewAMI {
				t.Errorf("DescribeImages inputs = %+v", f.images)
			}
			wantPoll(t, res, err, c.err, c.cause, c.ready, c.wait, c.waiting)
		})
	}
}
