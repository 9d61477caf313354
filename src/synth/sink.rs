//! The columnar row sink: variable string columns as indices into one interned dictionary,
//! row templates for the strings a resource repeats, decimal and float measures, and the frame
//! built from them (constant columns as scalar columns).

use polars::prelude::{
    AnyValue, ChunkTake, Column, DataFrame, DataType, Float64Chunked, IdxCa, IdxSize, Int64Chunked,
    Int128Chunked, IntoColumn, IntoSeries, NewChunkedArray, PlSmallStr, PolarsError, Scalar,
    Series, StringChunked, TimeUnit, TimeZone,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::HashMap;

use super::company::{BILLING_ACCOUNT_TYPE, CURRENCY, PROVIDER, PUBLISHER};
use super::{BILLING_ACCOUNT_ID, COMPANY_NAME, MONEY_PRECISION, MONEY_SCALE, SynthError};

/// Variable string columns, in frame order (constant columns are not stored per row).
pub(super) const S_AZ: usize = 0;
pub(super) const S_CHARGE_CATEGORY: usize = 1;
pub(super) const S_CHARGE_CLASS: usize = 2;
pub(super) const S_CHARGE_DESCRIPTION: usize = 3;
pub(super) const S_CHARGE_FREQUENCY: usize = 4;
pub(super) const S_CD_CATEGORY: usize = 5;
pub(super) const S_CD_ID: usize = 6;
pub(super) const S_CD_NAME: usize = 7;
pub(super) const S_CD_STATUS: usize = 8;
pub(super) const S_CD_TYPE: usize = 9;
pub(super) const S_CD_UNIT: usize = 10;
pub(super) const S_CONSUMED_UNIT: usize = 11;
const S_INVOICE_ID: usize = 12;
pub(super) const S_PRICING_CATEGORY: usize = 13;
pub(super) const S_PRICING_UNIT: usize = 14;
pub(super) const S_REGION_ID: usize = 15;
pub(super) const S_REGION_NAME: usize = 16;
pub(super) const S_RESOURCE_ID: usize = 17;
pub(super) const S_RESOURCE_NAME: usize = 18;
pub(super) const S_RESOURCE_TYPE: usize = 19;
pub(super) const S_SERVICE_CATEGORY: usize = 20;
pub(super) const S_SERVICE_NAME: usize = 21;
pub(super) const S_SERVICE_SUBCATEGORY: usize = 22;
pub(super) const S_SKU_ID: usize = 23;
pub(super) const S_SKU_METER: usize = 24;
pub(super) const S_SKU_PRICE_DETAILS: usize = 25;
pub(super) const S_SKU_PRICE_ID: usize = 26;
pub(super) const S_SUB_ACCOUNT_ID: usize = 27;
pub(super) const S_SUB_ACCOUNT_NAME: usize = 28;
pub(super) const S_SUB_ACCOUNT_TYPE: usize = 29;
pub(super) const S_TAGS: usize = 30;
pub(super) const S_X_OPERATION: usize = 31;
pub(super) const S_X_USAGE_TYPE: usize = 32;
pub(super) const NSTR: usize = 33;

const D_BILLED: usize = 0;
const D_EFFECTIVE: usize = 1;
const D_LIST: usize = 2;
const D_LIST_UNIT: usize = 3;

const Q_CD: usize = 0;
const Q_CONSUMED: usize = 1;
const Q_PRICING: usize = 2;

const T_BP_END: usize = 0;
const T_BP_START: usize = 1;
const T_CP_END: usize = 2;
const T_CP_START: usize = 3;

#[derive(Clone, Copy)]
enum Col {
    Str(usize),
    Const(&'static str),
    Null,
    Dec(usize),
    Qty(usize),
    Time(usize),
}

const COLUMNS: [(&str, Col); 59] = [
    ("AvailabilityZone", Col::Str(S_AZ)),
    ("BilledCost", Col::Dec(D_BILLED)),
    ("BillingAccountId", Col::Const(BILLING_ACCOUNT_ID)),
    ("BillingAccountName", Col::Const(COMPANY_NAME)),
    ("BillingAccountType", Col::Const(BILLING_ACCOUNT_TYPE)),
    ("BillingCurrency", Col::Const(CURRENCY)),
    ("BillingPeriodEnd", Col::Time(T_BP_END)),
    ("BillingPeriodStart", Col::Time(T_BP_START)),
    ("CapacityReservationId", Col::Null),
    ("CapacityReservationStatus", Col::Null),
    ("ChargeCategory", Col::Str(S_CHARGE_CATEGORY)),
    ("ChargeClass", Col::Str(S_CHARGE_CLASS)),
    ("ChargeDescription", Col::Str(S_CHARGE_DESCRIPTION)),
    ("ChargeFrequency", Col::Str(S_CHARGE_FREQUENCY)),
    ("ChargePeriodEnd", Col::Time(T_CP_END)),
    ("ChargePeriodStart", Col::Time(T_CP_START)),
    ("CommitmentDiscountCategory", Col::Str(S_CD_CATEGORY)),
    ("CommitmentDiscountId", Col::Str(S_CD_ID)),
    ("CommitmentDiscountName", Col::Str(S_CD_NAME)),
    ("CommitmentDiscountQuantity", Col::Qty(Q_CD)),
    ("CommitmentDiscountStatus", Col::Str(S_CD_STATUS)),
    ("CommitmentDiscountType", Col::Str(S_CD_TYPE)),
    ("CommitmentDiscountUnit", Col::Str(S_CD_UNIT)),
    ("ConsumedQuantity", Col::Qty(Q_CONSUMED)),
    ("ConsumedUnit", Col::Str(S_CONSUMED_UNIT)),
    ("ContractedCost", Col::Dec(D_LIST)),
    ("ContractedUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("EffectiveCost", Col::Dec(D_EFFECTIVE)),
    ("InvoiceId", Col::Str(S_INVOICE_ID)),
    ("InvoiceIssuerName", Col::Const(PUBLISHER)),
    ("ListCost", Col::Dec(D_LIST)),
    ("ListUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingCategory", Col::Str(S_PRICING_CATEGORY)),
    ("PricingCurrency", Col::Const(CURRENCY)),
    ("PricingCurrencyContractedUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingCurrencyEffectiveCost", Col::Dec(D_EFFECTIVE)),
    ("PricingCurrencyListUnitPrice", Col::Dec(D_LIST_UNIT)),
    ("PricingQuantity", Col::Qty(Q_PRICING)),
    ("PricingUnit", Col::Str(S_PRICING_UNIT)),
    ("ProviderName", Col::Const(PROVIDER)),
    ("PublisherName", Col::Const(PUBLISHER)),
    ("RegionId", Col::Str(S_REGION_ID)),
    ("RegionName", Col::Str(S_REGION_NAME)),
    ("ResourceId", Col::Str(S_RESOURCE_ID)),
    ("ResourceName", Col::Str(S_RESOURCE_NAME)),
    ("ResourceType", Col::Str(S_RESOURCE_TYPE)),
    ("ServiceCategory", Col::Str(S_SERVICE_CATEGORY)),
    ("ServiceName", Col::Str(S_SERVICE_NAME)),
    ("ServiceSubcategory", Col::Str(S_SERVICE_SUBCATEGORY)),
    ("SkuId", Col::Str(S_SKU_ID)),
    ("SkuMeter", Col::Str(S_SKU_METER)),
    ("SkuPriceDetails", Col::Str(S_SKU_PRICE_DETAILS)),
    ("SkuPriceId", Col::Str(S_SKU_PRICE_ID)),
    ("SubAccountId", Col::Str(S_SUB_ACCOUNT_ID)),
    ("SubAccountName", Col::Str(S_SUB_ACCOUNT_NAME)),
    ("SubAccountType", Col::Str(S_SUB_ACCOUNT_TYPE)),
    ("Tags", Col::Str(S_TAGS)),
    ("x_Operation", Col::Str(S_X_OPERATION)),
    ("x_UsageType", Col::Str(S_X_USAGE_TYPE)),
];

/// Id of a null string.
pub(super) const NULL: u32 = u32::MAX;
/// Sentinel of a null decimal in the sink.
const NULL_DEC: i128 = i128::MIN;

/// String-column values of a row, as interned ids.
pub(super) type Template = [u32; NSTR];

#[derive(Default)]
pub(super) struct Interner {
    pub(super) ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    pub(super) fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
}

/// Builds a [`Template`] by column.
pub(super) struct Tb<'a> {
    pub(super) t: Template,
    pub(super) interner: &'a mut Interner,
}

impl<'a> Tb<'a> {
    pub(super) fn new(interner: &'a mut Interner) -> Self {
        Tb {
            t: [NULL; NSTR],
            interner,
        }
    }

    pub(super) fn from(t: Template, interner: &'a mut Interner) -> Self {
        Tb { t, interner }
    }

    pub(super) fn set(mut self, col: usize, value: &str) -> Self {
        self.t[col] = self.interner.id(value);
        self
    }

    pub(super) fn clear(mut self, col: usize) -> Self {
        self.t[col] = NULL;
        self
    }

    pub(super) fn done(self) -> Template {
        self.t
    }
}

/// Numeric values of one row.
pub(super) struct Vals {
    pub(super) billed: Decimal,
    pub(super) effective: Decimal,
    pub(super) list: Decimal,
    pub(super) list_unit: Option<Decimal>,
    pub(super) cd_qty: Option<f64>,
    pub(super) consumed: Option<f64>,
    pub(super) pricing: Option<f64>,
    pub(super) billing_period: (i64, i64),
    pub(super) charge_period: (i64, i64),
}

fn dec_raw(d: Decimal) -> i128 {
    let mut r = d.round_dp(MONEY_SCALE);
    r.rescale(MONEY_SCALE);
    r.mantissa()
}

pub(super) fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

#[derive(Default)]
pub(super) struct Sink {
    pub(super) strs: Vec<Vec<u32>>,
    pub(super) decs: [Vec<i128>; 4],
    qtys: [Vec<f64>; 3],
    pub(super) times: [Vec<i64>; 4],
}

impl Sink {
    pub(super) fn new() -> Self {
        Sink {
            strs: vec![Vec::new(); NSTR],
            ..Sink::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.times[T_CP_START].len()
    }

    pub(super) fn clear(&mut self) {
        self.strs.iter_mut().for_each(Vec::clear);
        self.decs.iter_mut().for_each(Vec::clear);
        self.qtys.iter_mut().for_each(Vec::clear);
        self.times.iter_mut().for_each(Vec::clear);
    }

    pub(super) fn push(&mut self, t: &Template, invoice: u32, v: &Vals) {
        for (col, id) in self.strs.iter_mut().zip(t.iter()) {
            col.push(*id);
        }
        if let Some(last) = self.strs[S_INVOICE_ID].last_mut() {
            *last = invoice;
        }
        self.decs[D_BILLED].push(dec_raw(v.billed));
        self.decs[D_EFFECTIVE].push(dec_raw(v.effective));
        self.decs[D_LIST].push(dec_raw(v.list));
        self.decs[D_LIST_UNIT].push(v.list_unit.map_or(NULL_DEC, dec_raw));
        self.qtys[Q_CD].push(v.cd_qty.unwrap_or(f64::NAN));
        self.qtys[Q_CONSUMED].push(v.consumed.unwrap_or(f64::NAN));
        self.qtys[Q_PRICING].push(v.pricing.unwrap_or(f64::NAN));
        self.times[T_BP_START].push(v.billing_period.0);
        self.times[T_BP_END].push(v.billing_period.1);
        self.times[T_CP_START].push(v.charge_period.0);
        self.times[T_CP_END].push(v.charge_period.1);
    }
}

/// Turns the sink's columns into the frame, emptying the sink's vectors column by column.
pub(super) fn build_frame(sink: &mut Sink, interner: &Interner) -> Result<DataFrame, SynthError> {
    let height = sink.len();
    if IdxSize::try_from(height).is_err() || interner.values.len() >= NULL as usize {
        return Err(SynthError::TooManyRows {
            rows: height as u64,
        });
    }
    let dict = StringChunked::from_iter_values(
        PlSmallStr::EMPTY,
        interner.values.iter().map(String::as_str),
    );
    let mut decs: [Option<Series>; 4] = [None, None, None, None];
    for (i, raw) in sink.decs.iter_mut().enumerate() {
        let raw = std::mem::take(raw);
        let ca = if raw.contains(&NULL_DEC) {
            Int128Chunked::from_iter_options(
                PlSmallStr::EMPTY,
                raw.into_iter().map(|v| (v != NULL_DEC).then_some(v)),
            )
        } else {
            Int128Chunked::from_vec(PlSmallStr::EMPTY, raw)
        };
        decs[i] = Some(
            ca.into_decimal(MONEY_PRECISION, MONEY_SCALE as usize)?
                .into_series(),
        );
    }
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (name, col) in COLUMNS {
        let name = PlSmallStr::from_static(name);
        let column = match col {
            Col::Str(i) => {
                let ids = std::mem::take(&mut sink.strs[i]);
                let idx = IdxCa::from_iter_options(
                    PlSmallStr::EMPTY,
                    ids.into_iter().map(|v| (v != NULL).then_some(v as IdxSize)),
                );
                dict.take(&idx)?.with_name(name).into_column()
            }
            Col::Const(value) => Column::new_scalar(
                name,
                Scalar::new(
                    DataType::String,
                    AnyValue::StringOwned(PlSmallStr::from_static(value)),
                ),
                height,
            ),
            Col::Null => Column::full_null(name, height, &DataType::String),
            Col::Dec(i) => match &decs[i] {
                Some(s) => s.clone().with_name(name).into_column(),
                None => {
                    return Err(PolarsError::ComputeError("decimal column missing".into()).into());
                }
            },
            Col::Qty(i) => {
                let raw = std::mem::take(&mut sink.qtys[i]);
                Float64Chunked::from_iter_options(
                    name,
                    raw.into_iter().map(|v| (!v.is_nan()).then_some(v)),
                )
                .into_column()
            }
            Col::Time(i) => {
                let raw = std::mem::take(&mut sink.times[i]);
                Int64Chunked::from_vec(name, raw)
                    .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                    .into_column()
            }
        };
        columns.push(column);
    }
    Ok(DataFrame::new(height, columns)?)
}
