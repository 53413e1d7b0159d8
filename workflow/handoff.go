package workflow

// This file holds the hand-off of the golden AMI to other tools through an
// SSM parameter (hand-off, check-hand-off) and the functions that put a
// parameter back, which compensation (and rollback) use.

import (
	"context"
	"fmt"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// handOffDeadline bounds the wait for Parameter Store's asynchronous
// validation of an aws:ec2:image value.
const handOffDeadline = 5 * time.Minute

// ImageDataType is the Parameter Store data type of an AMI id.
const ImageDataType = "aws:ec2:image"

// ParameterReader reads a parameter.
type ParameterReader interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ParameterWriter reads and puts a parameter.
type ParameterWriter interface {
	ParameterReader
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// ParameterStore is what undoing a hand-off calls.
type ParameterStore interface {
	ParameterWriter
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// HandOffResult records a hand-off before it is made: the parameter, the
// AMI it is to hold, and what it held before (Existed false: it did not
// exist). record-parameter writes it before hand-off puts anything, so
// that compensation always knows what to put back.
type HandOffResult struct {
	Name             string `json:"name"`
	ImageID          string `json:"imageId"`
	Previous         string `json:"previous"`
	PreviousDataType string `json:"previousDataType"`
	Existed          bool   `json:"existed"`
}

// HandOffPut is the put of a hand-off: the version Parameter Store
// answered and when.
type HandOffPut struct {
	Version int64     `json:"version"`
	PutAt   time.Time `json:"putAt"`
}

// PreviousValue reads what parameter name holds before imageID is put in
// it (Existed false: there is no such parameter), to put it back later.
func PreviousValue(ctx context.Context, c ParameterReader, name, imageID string) (HandOffResult, error) {
	rec := HandOffResult{Name: name, ImageID: imageID}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		if apiCode(err) == "ParameterNotFound" {
			return rec, nil
		}
		return rec, classify("ssm:GetParameter", err)
	}
	rec.Previous, rec.PreviousDataType, rec.Existed = aws.ToString(out.Parameter.Value), aws.ToString(out.Parameter.DataType), true
	return rec, nil
}

// PutImageParameter puts imageID in parameter name (String, data type
// aws:ec2:image, Overwrite) and returns the version Parameter Store
// answered. The value becomes visible only once Parameter Store's
// asynchronous validation passed (see CheckHandOff).
func PutImageParameter(ctx context.Context, c ParameterWriter, name, imageID string) (int64, error) {
	out, err := c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(imageID), Type: ssmtypes.ParameterTypeString,
		DataType: aws.String(ImageDataType), Overwrite: aws.Bool(true),
		Description: aws.String("golden AMI, handed off by amiswap"),
	})
	if err != nil {
		return 0, classify("ssm:PutParameter", err)
	}
	return out.Version, nil
}

// RestoreParameter puts a parameter back as rec says it was before rec's
// hand-off: its previous value (with its data type), or no parameter at
// all. It does nothing when the parameter no longer holds rec.ImageID
// (someone or something changed it since, or the put never took). It
// returns what it did, "" when nothing.
func RestoreParameter(ctx context.Context, c ParameterStore, rec HandOffResult) (string, error) {
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(rec.Name)})
	if err != nil {
		if apiCode(err) == "ParameterNotFound" {
			return "", nil
		}
		return "", classify("ssm:GetParameter", err)
	}
	if aws.ToString(out.Parameter.Value) != rec.ImageID {
		return "", nil
	}
	if !rec.Existed {
		if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(rec.Name)}); err != nil && apiCode(err) != "ParameterNotFound" {
			return "", classify("ssm:DeleteParameter", err)
		}
		return fmt.Sprintf("deleted parameter %s (it did not exist before)", rec.Name), nil
	}
	dataType := rec.PreviousDataType
	if dataType == "" {
		dataType = ImageDataType
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(rec.Name), Value: aws.String(rec.Previous), Type: ssmtypes.ParameterTypeString,
		DataType: aws.String(dataType), Overwrite: aws.Bool(true),
	})
	if err != nil {
		return "", classify("ssm:PutParameter", err)
	}
	return fmt.Sprintf("put parameter %s back to %s", rec.Name, rec.Previous), nil
}

// HandOff serves the record-parameter and hand-off ops.
type HandOff struct {
	SSM ParameterWriter
}

// Record reads what amiswap:ssm-parameter holds before the golden AMI is
// put in it.
func (h *HandOff) Record(ctx context.Context, p Payload) (*HandOffResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	name := t.Settings.SSMParameter
	if err := amiswap.CheckParameterName(name); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "target.settings.ssmParameter", Reason: err.Error()}
	}
	if p.State.Image == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.image", Reason: "missing: create-image has not run"}
	}
	image := p.State.Image.ImageID
	if err := checkID("state.image.imageId", image, imageIDRe); err != nil {
		return nil, err
	}
	rec, err := PreviousValue(ctx, h.SSM, name, image)
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// Put puts the golden AMI in the recorded parameter.
func (h *HandOff) Put(ctx context.Context, p Payload) (*HandOffPut, error) {
	now, err := needNow(p)
	if err != nil {
		return nil, err
	}
	rec := p.State.HandOff
	if rec == nil || rec.Name == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.handOff", Reason: "missing: record-parameter has not run"}
	}
	v, err := PutImageParameter(ctx, h.SSM, rec.Name, rec.ImageID)
	if err != nil {
		return nil, err
	}
	return &HandOffPut{Version: v, PutAt: now}, nil
}

// CheckHandOff waits for the parameter to hold the golden AMI.
type CheckHandOff struct {
	SSM ParameterReader
}

// Check reports ready once GetParameter answers the golden AMI. Parameter
// Store validates an aws:ec2:image value asynchronously and, when the
// validation fails, leaves the parameter as it was ("Native parameter
// support for Amazon Machine Image IDs",
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html):
// a value still not there 5 minutes after the put is an *amiswap.AWSError.
func (h *CheckHandOff) Check(ctx context.Context, p Payload) (*PollResult, error) {
	now, err := needNow(p)
	if err != nil {
		return nil, err
	}
	rec, put := p.State.HandOff, p.State.HandOffPut
	if rec == nil || rec.Name == "" || put == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.handOffPut", Reason: "missing: hand-off has not run"}
	}
	w, err := newWait(p.Context.ExecutionID, "check-hand-off", now, "state.handOffPut.putAt", put.PutAt, handOffDeadline)
	if err != nil {
		return nil, err
	}
	out, err := h.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(rec.Name)})
	switch {
	case err == nil && aws.ToString(out.Parameter.Value) == rec.ImageID:
		return pollReady(), nil
	case err != nil && apiCode(err) != "ParameterNotFound":
		return nil, classify("ssm:GetParameter", err)
	}
	if now.Sub(put.PutAt) >= handOffDeadline {
		return nil, &amiswap.AWSError{Op: "ssm:PutParameter", Err: fmt.Errorf(
			"parameter %s does not hold %s %s after the put: Parameter Store's validation of the aws:ec2:image value refused it", rec.Name, rec.ImageID, handOffDeadline)}
	}
	return w.again(5*time.Second, "parameter "+rec.Name+" being validated")
}
