package awssim

// This file serves what decides whether an instance in a subnet reaches
// AWS's endpoints: route tables (with their associations and routes),
// internet gateways, NAT gateways and VPC endpoints. A fresh account's
// default VPC has, as in AWS, an internet gateway and a main route table
// with the local route and 0.0.0.0/0 to that gateway ("Default VPCs",
// Amazon VPC user guide, https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html:
// an internet gateway, and a main route table route sending all IPv4
// traffic for the internet to it).
// Nothing here carries packets: the resources are records that the
// Describe calls report, with the lifecycles AWS documents (a NAT gateway
// and an interface endpoint are pending before available).

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// natPending and endpointPending are how long a new NAT gateway and a new
// VPC endpoint stay pending (AWS gives no figure; "a few minutes").
const (
	natPending      = 2 * time.Minute
	endpointPending = 2 * time.Minute
)

type netStore struct {
	routeTables []*routeTable
	igws        []*internetGateway
	nats        []*natGateway
	endpoints   []*vpcEndpoint
}

type routeTable struct {
	ID, VpcID string
	Routes    []*route
	Assocs    []*rtAssoc
	Tags      tags
}

type route struct {
	Dest, GatewayID, NatGatewayID, Origin string
}

type rtAssoc struct {
	ID, SubnetID string
	Main         bool
}

type internetGateway struct {
	ID, VpcID string // VpcID empty: detached
	Tags      tags
}

type natGateway struct {
	ID, SubnetID, VpcID, State, Connectivity string
	Created                                  time.Time
	Tags                                     tags
}

type vpcEndpoint struct {
	ID, VpcID, ServiceName, Type, State string
	SubnetIDs, GroupIDs, RouteTables    []string
	PrivateDNS                          bool
	Created                             time.Time
	Tags                                tags
}

func init() {
	registerStore("network", func(s *Sim) { s.net = netStore{} }, netStateView)
}

// seedDefaultVPCNetwork gives the default VPC its internet gateway and main
// route table. Callers hold s.mu.
func (s *Sim) seedDefaultVPCNetwork(v *vpc) {
	igw := &internetGateway{ID: s.newID("igw"), VpcID: v.ID, Tags: tags{}}
	s.net.igws = append(s.net.igws, igw)
	rt := &routeTable{ID: s.newID("rtb"), VpcID: v.ID, Tags: tags{}, Routes: []*route{
		{Dest: v.CIDR, GatewayID: "local", Origin: "CreateRouteTable"},
		{Dest: "0.0.0.0/0", GatewayID: igw.ID, Origin: "CreateRoute"},
	}}
	rt.Assocs = []*rtAssoc{{ID: s.newID("rtbassoc"), Main: true}}
	s.net.routeTables = append(s.net.routeTables, rt)
}

// addVPCEndpoint creates an endpoint, pending until endpointPending has
// passed. Callers hold s.mu.
func (s *Sim) addVPCEndpoint(vpcID, service, typ string, subnets, groups, routeTables []string, privateDNS bool, t tags) *vpcEndpoint {
	ep := &vpcEndpoint{ID: s.newID("vpce"), VpcID: vpcID, ServiceName: service, Type: typ, State: "pending",
		SubnetIDs: subnets, GroupIDs: groups, RouteTables: routeTables, PrivateDNS: privateDNS, Created: s.clock.now, Tags: t}
	s.net.endpoints = append(s.net.endpoints, ep)
	s.after(endpointPending, func() {
		if ep.State == "pending" {
			ep.State = "available"
		}
	})
	return ep
}

func (s *Sim) routeTableByID(id string) (*routeTable, error) {
	for _, rt := range s.net.routeTables {
		if rt.ID == id {
			return rt, nil
		}
	}
	return nil, errorf("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
}

func (s *Sim) vpcByID(id string) (*vpc, error) {
	if id == "" {
		return nil, errorf("MissingParameter", "The request must contain the parameter vpcId")
	}
	v := s.ec2.vpcs[id]
	if v == nil {
		return nil, errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	return v, nil
}

// ---- route tables ------------------------------------------------------------

func (s *Sim) ec2CreateRouteTable(r *request, p params, w *xmlWriter) error {
	v, err := s.vpcByID(p.str("VpcId"))
	if err != nil {
		return err
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "route-table")
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "route-table/*"), Tags: specs["route-table"]}); err != nil {
		return err
	}
	rt := &routeTable{ID: s.newID("rtb"), VpcID: v.ID, Tags: tags{}.with(specs["route-table"]),
		Routes: []*route{{Dest: v.CIDR, GatewayID: "local", Origin: "CreateRouteTable"}}}
	s.net.routeTables = append(s.net.routeTables, rt)
	s.writeRouteTable(w, "routeTable", rt)
	return nil
}

// ec2AssociateRouteTable associates a subnet with a route table; a subnet
// already associated with another table is refused
// (Resource.AlreadyAssociated), as AWS does: ReplaceRouteTableAssociation
// moves it.
func (s *Sim) ec2AssociateRouteTable(r *request, p params, w *xmlWriter) error {
	rt, err := s.routeTableByID(p.str("RouteTableId"))
	if err != nil {
		return err
	}
	sn := s.subnetByID(p.str("SubnetId"))
	if sn == nil {
		return errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", p.str("SubnetId"))
	}
	if sn.VpcID != rt.VpcID {
		return errorf("InvalidParameterValue", "Route table %s and subnet %s belong to different networks", rt.ID, sn.ID)
	}
	if other := s.subnetRouteTable(sn.ID, false); other != nil {
		return errorf("Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", other.ID)
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "route-table/"+rt.ID), Tags: rt.Tags}, Resource{ARN: s.arn("ec2", "subnet/"+sn.ID)}); err != nil {
		return err
	}
	a := &rtAssoc{ID: s.newID("rtbassoc"), SubnetID: sn.ID}
	rt.Assocs = append(rt.Assocs, a)
	w.elem("associationId", a.ID)
	w.open("associationState")
	w.elem("state", "associated")
	w.close("associationState")
	return nil
}

// ec2CreateRoute adds a route to an internet gateway (GatewayId) or a NAT
// gateway (NatGatewayId); a destination already routed is refused
// (RouteAlreadyExists).
func (s *Sim) ec2CreateRoute(r *request, p params, w *xmlWriter) error {
	rt, err := s.routeTableByID(p.str("RouteTableId"))
	if err != nil {
		return err
	}
	dest, err := p.required("DestinationCidrBlock", true)
	if err != nil {
		return err
	}
	rte := &route{Dest: dest, Origin: "CreateRoute"}
	switch gw, nat := p.str("GatewayId"), p.str("NatGatewayId"); {
	case gw != "" && nat == "":
		if !s.igwExists(gw) {
			return errorf("InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", gw)
		}
		rte.GatewayID = gw
	case nat != "" && gw == "":
		if !s.natExists(nat) {
			return errorf("InvalidNatGatewayID.NotFound", "The natGateway ID '%s' does not exist", nat)
		}
		rte.NatGatewayID = nat
	default:
		return errorf("InvalidParameterCombination", "The amiswap simulator routes to exactly one GatewayId or NatGatewayId")
	}
	for _, x := range rt.Routes {
		if x.Dest == dest {
			return errorf("RouteAlreadyExists", "The route identified by %s already exists.", dest)
		}
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "route-table/"+rt.ID), Tags: rt.Tags}); err != nil {
		return err
	}
	rt.Routes = append(rt.Routes, rte)
	w.bool("return", true)
	return nil
}

// ec2DeleteRoute removes a route; the local route cannot be deleted.
func (s *Sim) ec2DeleteRoute(r *request, p params, w *xmlWriter) error {
	rt, err := s.routeTableByID(p.str("RouteTableId"))
	if err != nil {
		return err
	}
	dest := p.str("DestinationCidrBlock")
	for i, x := range rt.Routes {
		if x.Dest != dest {
			continue
		}
		if x.GatewayID == "local" {
			return errorf("InvalidParameterValue", "cannot remove local route %s in route table %s", dest, rt.ID)
		}
		if err := s.authorize(r, Resource{ARN: s.arn("ec2", "route-table/"+rt.ID), Tags: rt.Tags}); err != nil {
			return err
		}
		rt.Routes = append(rt.Routes[:i], rt.Routes[i+1:]...)
		w.bool("return", true)
		return nil
	}
	return errorf("InvalidRoute.NotFound", "no route with destination-cidr-block %s in route table %s", dest, rt.ID)
}

// subnetRouteTable is the table a subnet is explicitly associated with,
// or (withMain) its VPC's main table when it has none.
func (s *Sim) subnetRouteTable(subnetID string, withMain bool) *routeTable {
	var vpcID string
	for _, rt := range s.net.routeTables {
		for _, a := range rt.Assocs {
			if a.SubnetID == subnetID {
				return rt
			}
		}
	}
	if !withMain {
		return nil
	}
	if sn := s.subnetByID(subnetID); sn != nil {
		vpcID = sn.VpcID
	}
	for _, rt := range s.net.routeTables {
		if rt.VpcID == vpcID && rt.main() {
			return rt
		}
	}
	return nil
}

func (rt *routeTable) main() bool {
	for _, a := range rt.Assocs {
		if a.Main {
			return true
		}
	}
	return false
}

// ec2DescribeRouteTables lists route tables. Filters: route-table-id,
// vpc-id, association.subnet-id (explicit associations only, as in AWS: a
// subnet that uses the main table is found with association.main=true and
// its vpc-id), association.main, association.route-table-association-id,
// route.gateway-id, route.nat-gateway-id, route.destination-cidr-block,
// tags.
func (s *Sim) ec2DescribeRouteTables(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, "route-table-id", "vpc-id", "association.subnet-id", "association.main",
		"association.route-table-association-id", "route.gateway-id", "route.nat-gateway-id", "route.destination-cidr-block", "owner-id")
	if err != nil {
		return err
	}
	cands, err := appendFound(nil, p.list("RouteTableId"), s.routeTableByID)
	if err != nil {
		return err
	}
	if len(p.list("RouteTableId")) == 0 {
		cands = s.net.routeTables
	}
	var tagFilters []ec2Filter
	for _, f := range filters {
		if strings.HasPrefix(f.name, "tag") {
			tagFilters = append(tagFilters, f)
		}
	}
	var out []*routeTable
	for _, rt := range cands {
		if matchFilters(tagFilters, rt.Tags, nil) && rt.matchesMulti(filters, s.opts.AccountID) {
			out = append(out, rt)
		}
	}
	return writePage(w, p, 1000, "routeTableSet", out, func(rt *routeTable) { s.writeRouteTable(w, "item", rt) })
}

// matchesMulti applies the filters whose attribute has several values on
// one route table (its associations and routes): each filter must match
// one of them. Tag filters were applied by matchFilters.
func (rt *routeTable) matchesMulti(fs []ec2Filter, account string) bool {
	for _, f := range fs {
		var vals []string
		switch f.name {
		case "route-table-id":
			vals = []string{rt.ID}
		case "vpc-id":
			vals = []string{rt.VpcID}
		case "owner-id":
			vals = []string{account}
		case "association.main":
			vals = []string{strconv.FormatBool(rt.main())}
		case "association.subnet-id", "association.route-table-association-id":
			for _, a := range rt.Assocs {
				if f.name == "association.subnet-id" && a.SubnetID != "" {
					vals = append(vals, a.SubnetID)
				} else if f.name != "association.subnet-id" {
					vals = append(vals, a.ID)
				}
			}
		case "route.gateway-id", "route.nat-gateway-id", "route.destination-cidr-block":
			for _, x := range rt.Routes {
				vals = append(vals, map[string]string{"route.gateway-id": x.GatewayID, "route.nat-gateway-id": x.NatGatewayID, "route.destination-cidr-block": x.Dest}[f.name])
			}
		default:
			continue
		}
		ok := false
		for _, v := range vals {
			ok = ok || (v != "" && matchAny(f.values, v))
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Sim) writeRouteTable(w *xmlWriter, tag string, rt *routeTable) {
	w.open(tag)
	w.elem("routeTableId", rt.ID)
	w.elem("vpcId", rt.VpcID)
	w.elem("ownerId", s.opts.AccountID)
	w.open("routeSet")
	for _, x := range rt.Routes {
		w.open("item")
		w.elem("destinationCidrBlock", x.Dest)
		w.elemIf("gatewayId", x.GatewayID)
		w.elemIf("natGatewayId", x.NatGatewayID)
		w.elem("state", s.routeState(x))
		w.elem("origin", x.Origin)
		w.close("item")
	}
	w.close("routeSet")
	w.open("associationSet")
	for _, a := range rt.Assocs {
		w.open("item")
		w.elem("routeTableAssociationId", a.ID)
		w.elem("routeTableId", rt.ID)
		w.elemIf("subnetId", a.SubnetID)
		w.bool("main", a.Main)
		w.open("associationState")
		w.elem("state", "associated")
		w.close("associationState")
		w.close("item")
	}
	w.close("associationSet")
	writeTagSet(w, rt.Tags)
	w.close(tag)
}

// routeState is "blackhole" when the route's target is gone (a detached
// internet gateway, a deleted or failed NAT gateway), else "active".
func (s *Sim) routeState(x *route) string {
	switch {
	case x.GatewayID == "local":
		return "active"
	case x.GatewayID != "":
		for _, g := range s.net.igws {
			if g.ID == x.GatewayID && g.VpcID != "" {
				return "active"
			}
		}
		return "blackhole"
	case x.NatGatewayID != "":
		for _, n := range s.net.nats {
			if n.ID == x.NatGatewayID && (n.State == "available" || n.State == "pending") {
				return "active"
			}
		}
	}
	return "blackhole"
}

// ---- internet gateways ---------------------------------------------------------

func (s *Sim) igwExists(id string) bool {
	for _, g := range s.net.igws {
		if g.ID == id {
			return true
		}
	}
	return false
}

func (s *Sim) ec2CreateInternetGateway(r *request, p params, w *xmlWriter) error {
	specs, err := parseTagSpecs(p, "TagSpecification", "internet-gateway")
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "internet-gateway/*"), Tags: specs["internet-gateway"]}); err != nil {
		return err
	}
	g := &internetGateway{ID: s.newID("igw"), Tags: tags{}.with(specs["internet-gateway"])}
	s.net.igws = append(s.net.igws, g)
	s.writeIGW(w, "internetGateway", g)
	return nil
}

// ec2AttachInternetGateway attaches a gateway to a VPC; a VPC has at most
// one (Resource.AlreadyAssociated), a gateway one VPC.
func (s *Sim) ec2AttachInternetGateway(r *request, p params, w *xmlWriter) error {
	v, err := s.vpcByID(p.str("VpcId"))
	if err != nil {
		return err
	}
	var g *internetGateway
	for _, x := range s.net.igws {
		if x.ID == p.str("InternetGatewayId") {
			g = x
		}
		if x.VpcID == v.ID {
			return errorf("Resource.AlreadyAssociated", "network %s already has an internet gateway attached", v.ID)
		}
	}
	if g == nil {
		return errorf("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", p.str("InternetGatewayId"))
	}
	if g.VpcID != "" {
		return errorf("Resource.AlreadyAssociated", "resource %s is already attached to network %s", g.ID, g.VpcID)
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "internet-gateway/"+g.ID), Tags: g.Tags}); err != nil {
		return err
	}
	g.VpcID = v.ID
	w.bool("return", true)
	return nil
}

func (s *Sim) ec2DescribeInternetGateways(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, "internet-gateway-id", "attachment.vpc-id", "attachment.state", "owner-id")
	if err != nil {
		return err
	}
	ids := p.list("InternetGatewayId")
	for _, id := range ids {
		if !s.igwExists(id) {
			return errorf("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", id)
		}
	}
	var out []*internetGateway
	for _, g := range s.net.igws {
		if len(ids) > 0 && !slices.Contains(ids, g.ID) {
			continue
		}
		ok := matchFilters(filters, g.Tags, func(name string) string {
			switch name {
			case "internet-gateway-id":
				return g.ID
			case "attachment.vpc-id":
				return g.VpcID
			case "attachment.state":
				if g.VpcID != "" {
					return "available"
				}
				return ""
			}
			return s.opts.AccountID
		})
		if ok {
			out = append(out, g)
		}
	}
	return writePage(w, p, 1000, "internetGatewaySet", out, func(g *internetGateway) { s.writeIGW(w, "item", g) })
}

func (s *Sim) writeIGW(w *xmlWriter, tag string, g *internetGateway) {
	w.open(tag)
	w.elem("internetGatewayId", g.ID)
	w.elem("ownerId", s.opts.AccountID)
	w.open("attachmentSet")
	if g.VpcID != "" {
		w.open("item")
		w.elem("vpcId", g.VpcID)
		w.elem("state", "available")
		w.close("item")
	}
	w.close("attachmentSet")
	writeTagSet(w, g.Tags)
	w.close(tag)
}

// ---- NAT gateways ------------------------------------------------------------------

func (s *Sim) natExists(id string) bool {
	for _, n := range s.net.nats {
		if n.ID == id {
			return true
		}
	}
	return false
}

// ec2CreateNatGateway creates a NAT gateway in a subnet: pending, then
// available after natPending. ConnectivityType public (the default) or
// private; the simulator does not model Elastic IPs (AllocationId is
// accepted and not checked).
func (s *Sim) ec2CreateNatGateway(r *request, p params, w *xmlWriter) error {
	sn := s.subnetByID(p.str("SubnetId"))
	if sn == nil {
		return errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", p.str("SubnetId"))
	}
	conn := p.str("ConnectivityType")
	switch conn {
	case "":
		conn = "public"
	case "public", "private":
	default:
		return errorf("InvalidParameterValue", "ConnectivityType %q is not public or private", conn)
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "natgateway")
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "natgateway/*"), Tags: specs["natgateway"]}, Resource{ARN: s.arn("ec2", "subnet/"+sn.ID)}); err != nil {
		return err
	}
	n := &natGateway{ID: s.newID("nat"), SubnetID: sn.ID, VpcID: sn.VpcID, State: "pending", Connectivity: conn,
		Created: s.clock.now, Tags: tags{}.with(specs["natgateway"])}
	s.net.nats = append(s.net.nats, n)
	s.after(natPending, func() {
		if n.State == "pending" {
			n.State = "available"
		}
	})
	s.writeNAT(w, "natGateway", n)
	return nil
}

func (s *Sim) ec2DescribeNatGateways(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, "nat-gateway-id", "subnet-id", "vpc-id", "state")
	if err != nil {
		return err
	}
	ids := p.list("NatGatewayId")
	var out []*natGateway
	for _, n := range s.net.nats {
		if len(ids) > 0 && !slices.Contains(ids, n.ID) {
			continue
		}
		ok := matchFilters(filters, n.Tags, func(name string) string {
			return map[string]string{"nat-gateway-id": n.ID, "subnet-id": n.SubnetID, "vpc-id": n.VpcID, "state": n.State}[name]
		})
		if ok {
			out = append(out, n)
		}
	}
	return writePage(w, p, 1000, "natGatewaySet", out, func(n *natGateway) { s.writeNAT(w, "item", n) })
}

func (s *Sim) writeNAT(w *xmlWriter, tag string, n *natGateway) {
	w.open(tag)
	w.elem("natGatewayId", n.ID)
	w.elem("subnetId", n.SubnetID)
	w.elem("vpcId", n.VpcID)
	w.elem("state", n.State)
	w.elem("connectivityType", n.Connectivity)
	w.time("createTime", n.Created)
	writeTagSet(w, n.Tags)
	w.close(tag)
}

// ---- VPC endpoints -----------------------------------------------------------------

// ec2CreateVpcEndpoint creates an endpoint for a service name
// (com.amazonaws.REGION.ssm, …): Interface (the default here is what the
// caller says; AWS's default is Gateway) with subnets, security groups and
// PrivateDnsEnabled (default true for Interface), or Gateway with route
// tables. Pending, then available after endpointPending.
func (s *Sim) ec2CreateVpcEndpoint(r *request, p params, w *xmlWriter) error {
	v, err := s.vpcByID(p.str("VpcId"))
	if err != nil {
		return err
	}
	service, err := p.required("ServiceName", true)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(service, "com.amazonaws."+s.opts.Region+".") {
		return errorf("InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", service)
	}
	typ := p.str("VpcEndpointType")
	if typ == "" {
		typ = "Gateway"
	}
	if typ != "Interface" && typ != "Gateway" {
		return errorf("InvalidParameterValue", "VpcEndpointType %q is not Interface or Gateway", typ)
	}
	subnets := p.list("SubnetId")
	for _, id := range subnets {
		sn := s.subnetByID(id)
		if sn == nil {
			return errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
		if sn.VpcID != v.ID {
			return errorf("InvalidParameterValue", "Subnet %s is not in VPC %s", id, v.ID)
		}
	}
	privateDNS := typ == "Interface"
	if b, ok, err := p.boolean("PrivateDnsEnabled"); err != nil {
		return err
	} else if ok {
		privateDNS = b
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "vpc-endpoint")
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ec2", "vpc-endpoint/*"), Tags: specs["vpc-endpoint"]}, Resource{ARN: s.arn("ec2", "vpc/"+v.ID)}); err != nil {
		return err
	}
	ep := s.addVPCEndpoint(v.ID, service, typ, subnets, p.list("SecurityGroupId"), p.list("RouteTableId"), privateDNS, tags{}.with(specs["vpc-endpoint"]))
	s.writeEndpoint(w, "vpcEndpoint", ep)
	return nil
}

func (s *Sim) ec2DescribeVpcEndpoints(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, "vpc-endpoint-id", "vpc-id", "service-name", "vpc-endpoint-state", "vpc-endpoint-type")
	if err != nil {
		return err
	}
	ids := p.list("VpcEndpointId")
	var out []*vpcEndpoint
	for _, ep := range s.net.endpoints {
		if len(ids) > 0 && !slices.Contains(ids, ep.ID) {
			continue
		}
		ok := matchFilters(filters, ep.Tags, func(name string) string {
			return map[string]string{"vpc-endpoint-id": ep.ID, "vpc-id": ep.VpcID, "service-name": ep.ServiceName,
				"vpc-endpoint-state": ep.State, "vpc-endpoint-type": ep.Type}[name]
		})
		if ok {
			out = append(out, ep)
		}
	}
	for _, id := range ids {
		found := false
		for _, ep := range out {
			found = found || ep.ID == id
		}
		if !found {
			return errorf("InvalidVpcEndpointId.NotFound", "The VpcEndpoint Id '%s' does not exist", id)
		}
	}
	return writePage(w, p, 1000, "vpcEndpointSet", out, func(ep *vpcEndpoint) { s.writeEndpoint(w, "item", ep) })
}

func (s *Sim) writeEndpoint(w *xmlWriter, tag string, ep *vpcEndpoint) {
	w.open(tag)
	w.elem("vpcEndpointId", ep.ID)
	w.elem("vpcEndpointType", ep.Type)
	w.elem("vpcId", ep.VpcID)
	w.elem("serviceName", ep.ServiceName)
	w.elem("state", ep.State)
	set := func(name, item string, vals []string) {
		w.open(name)
		for _, v := range vals {
			if item == "" {
				w.elem("item", v)
				continue
			}
			w.open("item")
			w.elem(item, v)
			w.close("item")
		}
		w.close(name)
	}
	set("routeTableIdSet", "", ep.RouteTables)
	set("subnetIdSet", "", ep.SubnetIDs)
	set("groupSet", "groupId", ep.GroupIDs)
	w.bool("privateDnsEnabled", ep.PrivateDNS)
	w.bool("requesterManaged", false)
	w.time("creationTimestamp", ep.Created)
	w.elem("ownerId", s.opts.AccountID)
	writeTagSet(w, ep.Tags)
	w.close(tag)
}

// netStateView is the network part of GET /_sim/state.
func netStateView(s *Sim) any {
	type rtView struct {
		ID      string   `json:"routeTableId"`
		VpcID   string   `json:"vpcId"`
		Main    bool     `json:"main"`
		Subnets []string `json:"subnets"`
		Routes  []string `json:"routes"`
	}
	rts := []rtView{}
	for _, rt := range s.net.routeTables {
		v := rtView{ID: rt.ID, VpcID: rt.VpcID, Main: rt.main(), Subnets: []string{}, Routes: []string{}}
		for _, a := range rt.Assocs {
			if a.SubnetID != "" {
				v.Subnets = append(v.Subnets, a.SubnetID)
			}
		}
		for _, x := range rt.Routes {
			v.Routes = append(v.Routes, x.Dest+" → "+x.GatewayID+x.NatGatewayID)
		}
		rts = append(rts, v)
	}
	var igws, nats, eps []string
	for _, g := range s.net.igws {
		igws = append(igws, g.ID+" "+g.VpcID)
	}
	for _, n := range s.net.nats {
		nats = append(nats, n.ID+" "+n.SubnetID+" "+n.State)
	}
	for _, ep := range s.net.endpoints {
		eps = append(eps, ep.ID+" "+ep.ServiceName+" "+ep.State)
	}
	sort.Strings(eps)
	return map[string]any{"routeTables": rts, "internetGateways": igws, "natGateways": nats, "vpcEndpoints": eps}
}
