package graph

import (
	"github.com/cloudcomms/customers/graph/model"
	"github.com/cloudcomms/customers/models"
)

// customerCreateInput converts the generated input; shape only, no rules.
func customerCreateInput(in model.CustomerCreateInput) models.CustomerInput {
	return models.CustomerInput{
		Name:                  opt(in.Name),
		WebsiteURL:            opt(in.WebsiteURL),
		Logo:                  opt(in.Logo),
		Credit:                opt(in.Credit),
		AdminUserID:           opt(in.AdminUserID),
		BillingUserID:         opt(in.BillingUserID),
		CallRecordingUserID:   opt(in.CallRecordingUserID),
		SupportUserID:         opt(in.SupportUserID),
		AutomaticRefillAmount: opt(in.AutomaticRefillAmount),
		LowBalanceAlertAmount: opt(in.LowBalanceAlertAmount),
		InternationalCalling:  opt(in.InternationalCalling),
		CreatedByIP:           opt(in.CreatedByIP),
		MediaBypass:           opt(in.MediaBypass),
		AccountLock:           opt(in.AccountLock),
		CallRecording:         opt(in.CallRecording),
		CDRRetention:          opt(in.CdrRetention),
		CnamLookUps:           opt(in.CnamLookUps),
		HoldMusic:             opt(in.HoldMusic),
		TranscribeCalls:       opt(in.TranscribeCalls),
		MaxOutboundCallRate:   opt(in.MaxOutboundCallRate),
		DefaultBillMethod:     opt(in.DefaultBillMethod),
	}
}

// customerPatch converts the generated patch; shape only, no rules.
func customerPatch(p model.CustomerPatch) models.CustomerInput {
	return models.CustomerInput{
		Name:                  opt(p.Name),
		WebsiteURL:            opt(p.WebsiteURL),
		Logo:                  opt(p.Logo),
		Credit:                opt(p.Credit),
		AdminUserID:           opt(p.AdminUserID),
		BillingUserID:         opt(p.BillingUserID),
		CallRecordingUserID:   opt(p.CallRecordingUserID),
		SupportUserID:         opt(p.SupportUserID),
		AutomaticRefillAmount: opt(p.AutomaticRefillAmount),
		LowBalanceAlertAmount: opt(p.LowBalanceAlertAmount),
		InternationalCalling:  opt(p.InternationalCalling),
		MediaBypass:           opt(p.MediaBypass),
		AccountLock:           opt(p.AccountLock),
		CallRecording:         opt(p.CallRecording),
		CDRRetention:          opt(p.CdrRetention),
		CnamLookUps:           opt(p.CnamLookUps),
		HoldMusic:             opt(p.HoldMusic),
		TranscribeCalls:       opt(p.TranscribeCalls),
		MaxOutboundCallRate:   opt(p.MaxOutboundCallRate),
		DefaultBillMethod:     opt(p.DefaultBillMethod),
	}
}

// userCreateInput converts the generated input; shape only, no rules.
func userCreateInput(in model.UserCreateInput) models.UserInput {
	return models.UserInput{
		CustomerID:           opt(in.CustomerID),
		Email:                opt(in.Email),
		First:                opt(in.First),
		Last:                 opt(in.Last),
		Status:               opt(in.Status),
		AdminPermission:      opt(in.AdminPermission),
		BillingPermission:    opt(in.BillingPermission),
		SuperAdminPermission: opt(in.SuperAdminPermission),
	}
}

// userPatch converts the generated patch; shape only, no rules.
func userPatch(p model.UserPatch) models.UserInput {
	return models.UserInput{
		Email:                opt(p.Email),
		First:                opt(p.First),
		Last:                 opt(p.Last),
		Status:               opt(p.Status),
		AdminPermission:      opt(p.AdminPermission),
		BillingPermission:    opt(p.BillingPermission),
		SuperAdminPermission: opt(p.SuperAdminPermission),
	}
}
