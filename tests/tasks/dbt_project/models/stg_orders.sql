-- one row per order, typed
select
    order_id::int as order_id,
    lower(customer) as customer,
    amount::numeric(10, 2) as amount
from {{ ref('raw_orders') }}
