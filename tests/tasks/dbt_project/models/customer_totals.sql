-- what each customer ordered in total
select
    customer,
    count(*) as orders,
    sum(amount) as total
from {{ ref('stg_orders') }}
group by customer
