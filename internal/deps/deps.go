package deps
import (
 _ "github.com/aws/aws-sdk-go-v2/aws"
 _ "github.com/aws/aws-sdk-go-v2/config"
 _ "github.com/aws/aws-sdk-go-v2/credentials"
 _ "github.com/aws/aws-sdk-go-v2/service/ec2"
 _ "github.com/aws/aws-sdk-go-v2/service/autoscaling"
 _ "github.com/aws/aws-sdk-go-v2/service/ssm"
 _ "github.com/aws/aws-sdk-go-v2/service/backup"
 _ "github.com/aws/aws-sdk-go-v2/service/sns"
 _ "github.com/aws/aws-sdk-go-v2/service/sts"
 _ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
 _ "github.com/aws/aws-sdk-go-v2/service/cloudformation"
 _ "github.com/aws/aws-sdk-go-v2/service/s3"
 _ "github.com/aws/aws-sdk-go-v2/service/sfn"
 _ "github.com/aws/aws-sdk-go-v2/service/eventbridge"
 _ "github.com/aws/aws-sdk-go-v2/service/iam"
 _ "github.com/aws/aws-lambda-go/lambda"
 _ "github.com/aws/smithy-go"
)

